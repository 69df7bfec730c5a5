/**
 * Forwarded deposits built by real RelayClients but captured instead of sent: the payload sealed
 * to an inbox on relay B, the deposit sealed to B, and that envelope wrapped in a forward sealed
 * to the ingress relay A (RelayClient.connectVia). The bench then POSTs the bodies to A itself.
 */
import { contactCard, type ContactCard, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { TransportError } from "../../src/protocol/errors.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/** HTTP status the capturing fetch answers POSTs with; the client turns it into TransportError. */
const NOT_SENT = 503;

/** What the capturing fetch does: pass requests through, or keep POST bodies. */
interface Capture {
  on: boolean;
  bodies: Uint8Array[];
}

export class ForwardSealer {
  private constructor(
    /** A client for B reached through A; its deposits are forwards POSTed to A. */
    readonly target: RelayClient,
    private readonly capture: Capture,
  ) {}

  /**
   * Connects to the ingress relay and, through it (peer_descriptor), to the target relay; both
   * for real. Only `seal` captures; otherwise `target` sends for real.
   *
   * @example const sealer = await ForwardSealer.connect(urlA, urlB);
   */
  static async connect(ingressUrl: string, targetUrl: string): Promise<ForwardSealer> {
    const capture: Capture = { on: false, bodies: [] };
    const capturing: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (!capture.on || request.method !== "POST") return fetch(request);
      capture.bodies.push(new Uint8Array(await request.arrayBuffer()));
      return new Response(null, { status: NOT_SENT });
    };
    const ingress = await RelayClient.connect(ingressUrl, {
      shaping: ShapingProfiles.off,
      fetch: capturing,
    });
    return new ForwardSealer(await RelayClient.connectVia(targetUrl, ingress), capture);
  }

  /**
   * Seals `count` forwarded deposits of `message` spread over `inboxes` (inboxes on the target
   * relay), `concurrency` at a time, and returns the bodies for the ingress relay.
   */
  async seal(
    inboxes: readonly Inbox[],
    message: Uint8Array,
    count: number,
    concurrency: number,
  ): Promise<Uint8Array[]> {
    const cards: ContactCard[] = inboxes.map(contactCard);
    this.capture.bodies = [];
    this.capture.on = true;
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < count; i = next++) {
          try {
            await this.target.deposit(cards[i % cards.length]!, message);
          } catch (error) {
            if (!(error instanceof TransportError)) throw error;
            continue;
          }
          throw new Error("capturing fetch did not stop the forward");
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      this.capture.on = false;
    }
    const bodies = this.capture.bodies;
    this.capture.bodies = [];
    if (bodies.length !== count) throw new Error(`captured ${bodies.length} of ${count}`);
    return bodies;
  }
}

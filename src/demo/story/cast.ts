/**
 * The story's three members and how each reaches the relays. Alice's personal inbox is on
 * provider A, Bob's and Carol's on B, and every member reaches relays only through the other
 * provider's relay (its ingress): Alice through B, Bob and Carol through A.
 */
import type { GroupDeps } from "../../client/mls/group-session.js";
import { Member } from "../../client/mls/member.js";
import { ingressRouter } from "../../client/ingress-router.js";
import { RelayClient } from "../../client/relay-client.js";
import { ShapingProfiles } from "../../client/shaping-profile.js";
import type { StoryContext } from "./story-context.js";

type Route = GroupDeps["route"];

export interface Cast {
  alice: Member;
  bob: Member;
  carol: Member;
  /** Each member's client for its ingress relay. */
  ingress: { alice: RelayClient; bob: RelayClient; carol: RelayClient };
  /** Each member's way to any relay: direct to its ingress, through it to the other. */
  routes: { alice: Route; bob: Route; carol: Route };
  /** Alice's client for A (through B), where she creates the group. */
  aliceToA: RelayClient;
  /** How a session of the member with `route` reaches relays and waits for commits. */
  deps(route: Route): GroupDeps;
}

/**
 * Connects each member to its ingress relay, learns the other relay's signing key through it
 * (its peer descriptor), and creates the members with personal inboxes on their providers.
 *
 * @example
 * const cast = await meetCast(story, { a: "http://127.0.0.1:8001", b: "http://127.0.0.1:8002" });
 */
export async function meetCast(
  story: StoryContext,
  relays: { a: string; b: string },
): Promise<Cast> {
  const { a, b } = relays;
  const ingress = {
    alice: await RelayClient.connect(b, { shaping: ShapingProfiles.off }),
    bob: await RelayClient.connect(a, { shaping: ShapingProfiles.off }),
    carol: await RelayClient.connect(a, { shaping: ShapingProfiles.off }),
  };
  const routes = {
    alice: ingressRouter(ingress.alice),
    bob: ingressRouter(ingress.bob),
    carol: ingressRouter(ingress.carol),
  };
  const aliceToA = await routes.alice(a);
  const bobToB = await routes.bob(b);
  const carolToB = await routes.carol(b);
  story.log.check(
    aliceToA.via === ingress.alice && bobToB.via === ingress.bob && carolToB.via === ingress.carol,
    "each member reaches the other provider's relay only through its ingress relay",
  );
  const alice = await Member.create("alice", a, aliceToA.descriptor.signingKey);
  const bob = await Member.create("bob", b, bobToB.descriptor.signingKey);
  const carol = await Member.create("carol", b, carolToB.descriptor.signingKey);
  story.log.note(
    "alice: personal inbox on A; talks to B only (A through B)",
    "bob, carol: personal inboxes on B; talk to A only (B through A)",
  );
  const deps = (route: Route): GroupDeps => ({
    route,
    pollMs: story.pollMs,
    commitWaitMs: story.waitMs,
  });
  return { alice, bob, carol, ingress, routes, aliceToA, deps };
}

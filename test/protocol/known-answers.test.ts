import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeHpkePrimitives } from "../../src/adapters/node/node-hpke-primitives.js";
import { fromHex, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import {
  openRequest,
  openResponse,
  sealRequest,
  sealResponse,
  type EnvelopeLabels,
} from "../../src/protocol/envelope.js";
import {
  hpkeSuite,
  useHpkePrimitives,
  webCryptoPrimitives,
  type AeadId,
} from "../../src/protocol/hpke-suite.js";
import { keyConfigCodec } from "../../src/protocol/key-config.js";
import { rfc9180Base } from "../vectors/rfc9180.js";
import { rfc9458AppendixA as v } from "../vectors/rfc9458.js";

const RFC9458_LABELS: EnvelopeLabels = {
  request: "message/bhttp request",
  response: "message/bhttp response",
};

// Every vector runs on both sets of HPKE primitives: WebCrypto (Workers, browsers) and
// node:crypto (what the Node entry points install).
const PRIMITIVES = [
  ["WebCrypto", webCryptoPrimitives],
  ["node:crypto", nodeHpkePrimitives],
] as const;

describe.each(PRIMITIVES)("on %s primitives", (_name, primitives) => {
  beforeAll(() => useHpkePrimitives(primitives));
  afterAll(() => useHpkePrimitives(webCryptoPrimitives));

  describe("RFC 9458 Appendix A", () => {
    const config = decode(keyConfigCodec, fromHex(v.keyConfig));

    it("decodes and re-encodes the key config", () => {
      expect(config.keyId).toBe(v.keyId);
      expect(config.kemId).toBe(v.kemId);
      expect(toHex(config.publicKey)).toBe(v.pkR);
      expect(config.suites).toEqual([
        { kdfId: 1, aeadId: 1 },
        { kdfId: 1, aeadId: 3 },
      ]);
      expect(toHex(encode(keyConfigCodec, config))).toBe(v.keyConfig);
    });

    it("reproduces the encapsulated request and response", async () => {
      const suite = hpkeSuite({ kemId: 0x20, kdfId: 1, aeadId: 1 });
      const ephemeral = {
        privateKey: await suite.kem.deserializePrivateKey(fromHex(v.skE)),
        publicKey: await suite.kem.deserializePublicKey(fromHex(v.pkE)),
      };
      const { sealed, keying } = await sealRequest(config, fromHex(v.request), {
        labels: RFC9458_LABELS,
        ephemeral,
      });
      expect(toHex(sealed)).toBe(v.encapsulatedRequest);

      const privateKey = await suite.kem.deserializePrivateKey(fromHex(v.skR));
      const opened = await openRequest(
        (id) => (id === 1 ? { config, privateKey } : undefined),
        sealed,
        RFC9458_LABELS,
      );
      expect(toHex(opened.plaintext)).toBe(v.request);

      const response = await sealResponse(
        opened.keying,
        fromHex(v.response),
        fromHex(v.responseNonce),
      );
      expect(toHex(response)).toBe(v.encapsulatedResponse);
      expect(toHex(await openResponse(keying, response))).toBe(v.response);
    });

    it("refuses the same request under Shroud's own labels", async () => {
      const suite = hpkeSuite({ kemId: 0x20, kdfId: 1, aeadId: 1 });
      const privateKey = await suite.kem.deserializePrivateKey(fromHex(v.skR));
      await expect(
        openRequest(() => ({ config, privateKey }), fromHex(v.encapsulatedRequest)),
      ).rejects.toThrow("request did not open");
    });
  });

  describe("RFC 9180 base mode", () => {
    for (const t of rfc9180Base) {
      it(`${t.section}: key schedule, encryptions and exports`, async () => {
        const suite = hpkeSuite({ kemId: 0x20, kdfId: 1, aeadId: t.aeadId as AeadId });
        const recipient = await suite.kem.deriveKeyPair(fromHex(t.ikmR));
        expect(toHex(new Uint8Array(await suite.kem.serializePublicKey(recipient.publicKey)))).toBe(
          t.pkRm,
        );
        expect(
          toHex(new Uint8Array(await suite.kem.serializePrivateKey(recipient.privateKey))),
        ).toBe(t.skRm);
        const sender = await suite.createSenderContext({
          recipientPublicKey: recipient.publicKey,
          info: fromHex(t.info),
          ekm: fromHex(t.ikmE),
        });
        expect(toHex(new Uint8Array(sender.enc))).toBe(t.enc);
        const receiver = await suite.createRecipientContext({
          recipientKey: recipient.privateKey,
          enc: fromHex(t.enc),
          info: fromHex(t.info),
        });
        // Contexts are sequence-numbered: seal every listed seq in order, skipping the gaps.
        let seq = 0;
        for (const e of t.encryptions) {
          for (; seq < e.seq; seq++) {
            await receiver.open(await sender.seal(new Uint8Array(0)));
          }
          const ct = new Uint8Array(await sender.seal(fromHex(e.pt), fromHex(e.aad)));
          expect(toHex(ct)).toBe(e.ct);
          expect(toHex(new Uint8Array(await receiver.open(ct, fromHex(e.aad))))).toBe(e.pt);
          seq++;
        }
        for (const x of t.exports) {
          const value = new Uint8Array(await sender.export(fromHex(x.exporter_context), x.L));
          expect(toHex(value)).toBe(x.exported_value);
        }
        const first = t.encryptions[0]!;
        const fresh = await suite.createRecipientContext({
          recipientKey: recipient.privateKey,
          enc: fromHex(t.enc),
          info: fromHex(t.info),
        });
        expect(toHex(new Uint8Array(await fresh.open(fromHex(first.ct), fromHex(first.aad))))).toBe(
          first.pt,
        );
      });
    }
  });
});

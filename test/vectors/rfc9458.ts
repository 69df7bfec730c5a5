// Known-answer vector from RFC 9458 "Oblivious HTTP", Appendix A
// ("Complete Example of a Request and Response").
// Source: https://www.rfc-editor.org/rfc/rfc9458#appendix-A, values copied from the RFC
// text as stored in GitHub repo kesara/t4, path rfc9458.txt
// (commit 0dc6a547c1c1c28503b675af3e4f8398cc179fe2), Appendix A.
// Every value below was re-derived with an independent HPKE + OHTTP computation and
// matched. All byte strings are lowercase hex.
//
// Notes on what the RFC does and does not print:
// - The gateway key pair is given only as the X25519 secret key (no ikm). The public
//   key is not printed on its own; pkR below is keyConfig bytes [3, 35) (checked to
//   equal X25519(skR) and the public key asserted by AOSP's ObliviousHttpKeyConfigTest).
// - The client's ephemeral key is given as a secret key plus its public key (no ikmE).
// - The response nonce is not printed on its own; it is the last 16 bytes of the salt
//   and the first 16 bytes of the Encapsulated Response, both of which are printed.
// - The RFC's sample HTTP framing says Content-Length 78 / 38, but the printed
//   Encapsulated Request is 80 bytes and the Encapsulated Response 35 bytes.

export const rfc9458AppendixA = {
  // Identifiers: key_id and kem_id from keyConfig; kdf/aead as selected by the client
  keyId: 1,
  kemId: 0x0020, // DHKEM(X25519, HKDF-SHA256)
  kdfId: 0x0001, // HKDF-SHA256 (selected by the client)
  aeadId: 0x0001, // AES-128-GCM (selected by the client)
  // "The X25519 secret key is:"
  skR: "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a",
  // Not printed separately: keyConfig bytes [3, 35)
  pkR: "31e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e798155",
  // "The Oblivious Gateway Resource constructs a key configuration ..."
  // key_id 0x01, kem 0x0020, pkR, algorithms length 0x0008,
  // (HKDF-SHA256, AES-128-GCM), (HKDF-SHA256, ChaCha20Poly1305)
  keyConfig:
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003",
  // Binary HTTP request: GET https://example.com/
  request: "00034745540568747470730b6578616d706c652e636f6d012f",
  // Client ephemeral key pair: "the following ephemeral secret key" and
  // "The corresponding public key is"
  skE: "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73",
  pkE: "4b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472",
  // HPKE info: "message/bhttp request" || 0x00 || hdr
  info: "6d6573736167652f626874747020726571756573740001002000010001",
  // Encapsulated Request = hdr (7 bytes) || enc (32 bytes) || ct
  encapsulatedRequest:
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525",
  // Binary HTTP response: 200 status code
  response: "0140c8",
  // Secret exported from the HPKE context ("message/bhttp response", 16 bytes)
  exportedSecret: "62d87a6ba569ee81014c2641f52bea36",
  // Not printed separately: tail of salt / head of encapsulatedResponse
  responseNonce: "c789e7151fcba46158ca84b04464910d",
  // salt = enc || response_nonce
  salt: "4b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472c789e7151fcba46158ca84b04464910d",
  // HKDF-Extract(salt, secret)
  prk: "979aaeae066cf211ab407b31ae49767f344e1501e475c84e8aff547cc5a683db",
  // Expand(prk, "key", 16)
  aeadKey: "5d0172a080e428b16d298c4ea0db620d",
  // Expand(prk, "nonce", 12)
  aeadNonce: "f6bf1aeb88d6df87007fa263",
  // Encapsulated Response = response_nonce || ct
  encapsulatedResponse: "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd",
} as const;

/** Help texts, kept together so the overview and each command's --help stay consistent. */

export const SERVE_USAGE = `Usage: shroud serve [--port N] [--host HOST] [--origin URL] [--round-ms N]
                    [--data DIR | --redis URL [--redis-prefix P] [--redis-queue URL]]
                    [--peer URL ...] [--federation open|allowlist]

Runs a relay until SIGINT or SIGTERM, which deliver the open round before exiting.

On the embedded in-memory store (the default) messages are lost on exit; the relay's keys
persist in DIR, and its HPKE key is renewed at every start because the record of opened
requests that guards against replays does not survive one.

With --redis, inboxes, rounds, replay records and the key ring (encrypted under
SHROUD_MASTER_KEY) live in Redis, rounds close through BullMQ, and any number of relay
processes may share one Redis: each round closes once, and nothing acknowledged is lost when a
process dies. See deploy/README.md for the Redis settings this needs.

The relay rotates its HPKE key every 24 h by itself; SIGHUP reloads keys at once.

  --port N          port to listen on, 0 picks a free one  (SHROUD_PORT, default 8787)
  --host HOST       interface to bind                      (SHROUD_HOST, default 127.0.0.1)
  --origin URL      public origin clients use              (SHROUD_ORIGIN, default http://HOST:PORT)
  --round-ms N      round length in ms, 0 delivers at once (SHROUD_ROUND_MS, default 1000)
  --data DIR        directory holding the relay's keys     (SHROUD_DATA, default ./.shroud)
  --redis URL       run on Redis (redis:// or rediss://)   (REDIS_URL)
  --redis-prefix P  Redis key prefix for this relay        (SHROUD_REDIS_PREFIX, default shroud)
  --redis-queue URL a separate Redis for the round queue    (SHROUD_REDIS_QUEUE_URL, default: --redis)
                    (BullMQ's jobs carry timestamps; keep them out of the deposits' AOF)
  --peer URL        a peer relay's origin, repeatable      (SHROUD_PEERS, comma-separated)
  --federation P    allowlist (only the peers) or open     (SHROUD_FEDERATION, default allowlist)

Federation: for clients using \`send --via\` and \`fetch --via\`, this relay forwards deposits to
a peer and proxies fetches to it; it takes batches from peers. Every round each peer gets at
least one signed batch of fixed size, padded with cover. open accepts any relay as next hop and
sender. No peers and allowlist: federation is off. Both sides must name each other by the origin
each serves (--origin).

SHROUD_MASTER_KEY (environment only, never a flag): 32 bytes in base64 that encrypt the key
ring in Redis; every process of one relay needs the same one (\`shroud keys new-master-key\`).

Flags take precedence over the environment variables. Set --origin when binding 0.0.0.0 or
serving behind a proxy: clients check it against the relay's signed descriptor.`;

export const INBOX_USAGE = `Usage: shroud inbox create --relay URL --out INBOX.json [--card CARD.json]

Creates a personal inbox on a relay, pinned to the relay's signing key.

  --relay URL    the relay's origin, e.g. http://127.0.0.1:8787
  --out FILE     where to write the private inbox file (mode 0600; never overwritten)
  --card FILE    also write the contact card to share with senders (never overwritten)`;

export const SEND_USAGE = `Usage: shroud send --card CARD.json [--file FILE] [--via URL]

Seals a message to the inbox named by a contact card and deposits it.

  --card FILE    contact card of the recipient's inbox
  --file FILE    message to send (default: read stdin to the end)
  --via URL      go through this relay, a peer of the inbox's relay: it forwards the message in
                 its next federation batch ("forwarded via URL"). It sees you, not the inbox;
                 the inbox's relay sees it, not you. (The inbox's own relay: sends directly.)`;

export const FETCH_USAGE = `Usage: shroud fetch --inbox INBOX.json [--ack] [--out DIR] [--via URL]

Fetches and opens every message waiting in an inbox. Messages go to stdout, one after another,
each ending with a newline; the count goes to stderr.

  --inbox FILE   private inbox file from \`shroud inbox create\`
  --out DIR      write one file per message, DIR/<seq>.msg, instead of stdout (DIR is created)
  --ack          after the messages are written, delete them from the relay
  --via URL      fetch (and ack) through this relay, a peer of the inbox's relay, so the inbox's
                 relay never sees your address. A message sent with --via arrives after the
                 ingress relay's next round and the inbox relay's next one.`;

export const KEYS_USAGE = `Usage: shroud keys rotate [--data DIR | --redis URL [--redis-prefix P]] [--overlap-hours H]
       shroud keys new-master-key

rotate: adds a new HPKE key to the relay's key ring; older keys keep working for the overlap,
then are deleted. A running relay picks the new key up by itself (at its next maintenance,
within a minute, or when a client uses it), or at once on SIGHUP.

  --data DIR            directory holding the relay's keys (env SHROUD_DATA, default ./.shroud)
  --redis URL           the key ring in Redis instead (env REDIS_URL; needs SHROUD_MASTER_KEY)
  --redis-prefix P      Redis key prefix (env SHROUD_REDIS_PREFIX, default shroud)
  --overlap-hours H     how long older keys keep opening requests (default 24; 0 drops them now)

new-master-key: prints 32 random bytes (base64url) to use as SHROUD_MASTER_KEY.`;

export const FEDERATION_USAGE = `Usage: shroud federation dlq list|replay ID|drop ID [--data DIR | --redis URL [--redis-prefix P]]

The dead-letter queue: federation batches a peer did not acknowledge within their delivery
attempts (10 by default, retried with backoff up to a minute apart).

list: one line per dead letter, oldest first: ID, peer, attempts, batch size in bytes.
replay ID: puts the batch back into delivery with fresh attempts (a running relay sends it).
drop ID: deletes the batch; the messages in it are lost.
replay and drop exit 1 when there is no dead letter ID.

  --data DIR            the data directory of a relay on the embedded store (env SHROUD_DATA,
                        default ./.shroud)
  --redis URL           the relay's Redis (env REDIS_URL; needs SHROUD_MASTER_KEY)
  --redis-prefix P      Redis key prefix (env SHROUD_REDIS_PREFIX, default shroud)

On the embedded store the serving relay mirrors its dead letters into DIR/dead-letters every
5 s (and on SIGHUP); list reads that mirror, and replay and drop leave a request there that the
relay applies at its next sync.`;

export const MAIN_USAGE = `Shroud: a metadata-minimizing relay for MLS messaging.

Usage: shroud <command> [options]

Commands:
  serve           run a relay
  inbox create    create an inbox on a relay and write its inbox and card files
  send            send a message to an inbox, given its contact card
  fetch           fetch (and optionally ack) the messages in an inbox
  keys rotate     rotate the relay's HPKE key
  keys new-master-key  print a random SHROUD_MASTER_KEY for the Redis backend
  federation dlq  list, replay or drop federation batches that could not be delivered
  help            show this help (\`shroud <command> --help\` for a command's options)

Options:
  --help, -h      show this help
  --version, -v   print the version

Try it:
  shroud serve --round-ms 0 &
  shroud inbox create --relay http://127.0.0.1:8787 --out inbox.json --card card.json
  echo hello | shroud send --card card.json
  shroud fetch --inbox inbox.json --ack

Exit codes: 0 success, 1 runtime failure, 2 bad arguments.
Set SHROUD_DEBUG=1 to print stack traces of unexpected errors.`;

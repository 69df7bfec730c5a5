/** Help texts, kept together so the overview and each command's --help stay consistent. */

export const SERVE_USAGE = `Usage: shroud serve [--port N] [--host HOST] [--origin URL] [--round-ms N]
                    [--data DIR] [--store sqlite|memory]
                    [--redis URL [--redis-prefix P] [--redis-queue URL] [--round-shards N]]
                    [--workers N|auto] [--peer URL ...] [--federation open|allowlist] [--max-dynamic-peers N]
                    [--peer-cache N] [--proxy-timeout-ms N] [--max-dead-letters N]
                    [--batches-per-round N] [--dynamic-link-ms N]
                    [--ingress-release round|immediate] [--cors-origins LIST]
                    [--headers-timeout S] [--request-timeout S] [--keep-alive-timeout S]
                    [--max-connections N] [--max-connections-per-address N]
                    [--rate-limit N] [--rate-burst N] [--trust-proxy]
                    [--max-inboxes N] [--max-store-bytes N] [--max-pending-bytes N]
                    [--max-replay-records N] [--metrics]
                    [--log-level debug|info|warn|error] [--log-format text|json]
                    [--inbox-max-items N] [--inbox-max-bytes N] [--retention-days N]
                    [--tokens off|always|allowance] [--token-free-per-minute N]
                    [--token-accept URL ...] [--attester invite|header|address
                     [--invite-file FILE] [--attester-header NAME] [--tokens-per-day N]]

Runs a relay until SIGINT or SIGTERM, which deliver the open round before exiting (at most
15 s: past that it exits 1 without).

On the embedded SQLite store (the default) inboxes, rounds, replay records, the federation
queue and the key ring live in one file, DIR/shroud.db, written through before each answer:
nothing acknowledged is lost when the process dies, and the HPKE key is kept across restarts.
One process serves a data directory at a time (DIR/serve.lock). With --store memory they live
in the process and are lost on exit; the keys persist in DIR/keys.json, and the HPKE key is
renewed at every start because the record of opened requests that guards against replays does
not survive one.

With --redis, inboxes, rounds, replay records and the key ring (encrypted under
SHROUD_MASTER_KEY) live in Redis, rounds close through BullMQ, and any number of relay
processes may share one Redis: each round closes once, and nothing acknowledged is lost when a
process dies. See docs/DEPLOYMENT.md for the Redis settings this needs. On Redis, serve starts
one relay process per core (--workers) behind one port, and starts another if one dies. A Redis
Cluster is given as redis+cluster://[user:password@]host:port[,host:port...] (rediss+cluster://
for TLS): one or more of its nodes, from which the client learns the rest; see docs/SCALING.md.

The relay rotates its HPKE key every 24 h by itself; SIGHUP reloads keys at once.

  --port N          port to listen on, 0 picks a free one  (SHROUD_PORT, default 8787)
  --host HOST       interface to bind                      (SHROUD_HOST, default 127.0.0.1)
  --origin URL      public origin clients use              (SHROUD_ORIGIN, default http://HOST:PORT)
  --round-ms N      round length in ms, 0 delivers at once (SHROUD_ROUND_MS, default 1000)
  --data DIR        directory holding the store and keys   (SHROUD_DATA, default ./.shroud)
  --store S         embedded store: sqlite or memory       (SHROUD_STORE, default sqlite)
  --redis URL       run on Redis (redis://, rediss://, or redis+cluster:// for a cluster)
                                                           (REDIS_URL)
  --redis-prefix P  Redis key prefix for this relay        (SHROUD_REDIS_PREFIX, default shroud)
  --redis-queue URL a separate Redis for the round queue    (SHROUD_REDIS_QUEUE_URL, default: --redis)
  --round-shards N  slots the pending round is spread over, 1-256 (SHROUD_ROUND_SHARDS, default 16)
                    (BullMQ's jobs carry timestamps; keep them out of the deposits' AOF)
  --workers N       relay processes sharing the port (SHROUD_WORKERS, default auto): on Redis
                    auto is one per core; on the SQLite store it is 1, and N processes share
                    its file (one of them closes the rounds); --store memory takes 1
  --peer URL        a peer relay's origin, repeatable      (SHROUD_PEERS, comma-separated)
  --federation P    allowlist (only the peers) or open     (SHROUD_FEDERATION, default allowlist)
  --max-dynamic-peers N  open: new relays (not peers) taking forwards per round
                    (SHROUD_MAX_DYNAMIC_PEERS, default 64; 0: peers only)
  --peer-cache N    peer descriptors cached at most        (SHROUD_PEER_CACHE, default 1024)
  --proxy-timeout-ms N  deadline of a proxied request, answer included
                    (SHROUD_PROXY_TIMEOUT_MS, default 15000)
  --max-dead-letters N  undeliverable batches kept, the oldest dropped beyond
                    (SHROUD_MAX_DEAD_LETTERS, default 1024)
  --batches-per-round N  batches every peer gets each round, idle or busy: a link carries at
                    most N x 16 forwards a round, the rest wait for later rounds
                    (SHROUD_BATCHES_PER_ROUND, default 1: 16 forwards a second; at most 1000)
  --dynamic-link-ms N  open: how long a relay that is not a peer keeps its batches after its
                    last forward (SHROUD_DYNAMIC_LINK_MS, default 600000; 0: only with traffic)
  --ingress-release R  round: hold clients' proxied requests to the round boundary and send
                    them together in random order, and answer forwards with them; immediate:
                    pass them on and answer at once (SHROUD_INGRESS_RELEASE, default round)
  --cors-origins LIST  web origins whose pages may use this relay from a browser: "*" (any),
                    "none", or origins separated by commas (SHROUD_CORS_ORIGINS, default *)

HTTP limits (a normal client never meets them; see docs/THREAT-MODEL.md for what they do not stop):
  --headers-timeout S  seconds a client has to send its headers
                    (SHROUD_HEADERS_TIMEOUT, default 10)
  --request-timeout S  seconds a client has to send a whole request, body included; a slower
                    one is cut off (SHROUD_REQUEST_TIMEOUT, default 30)
  --keep-alive-timeout S  seconds an idle connection stays open
                    (SHROUD_KEEP_ALIVE_TIMEOUT, default 5)
  --max-connections N  open connections at most; the next ones are closed at once
                    (SHROUD_MAX_CONNECTIONS, default 1024)
  --max-connections-per-address N  open connections from one client address (an IPv6 /64)
                    (SHROUD_MAX_CONNECTIONS_PER_ADDRESS, default 64; 0: no limit)
  --rate-limit N    POST /v1/relay requests per second one client address may keep up; more
                    are answered 429 (SHROUD_RATE_LIMIT, default 100; 0: no limit)
  --rate-burst N    requests one address may send at once beyond the rate
                    (SHROUD_RATE_BURST, default 1000)
  --trust-proxy     behind one reverse proxy: the client address is the last X-Forwarded-For
                    entry, and the per-address connection limit is off (SHROUD_TRUST_PROXY=1).
                    Without it, every client of a proxy shares the proxy's address and limits.
  Per-address counters live in this process's memory only, for seconds; never logged.

Store caps (a full store answers deposits \`quota\`, never runs out of memory):
  --max-inboxes N   inboxes held at most; deposits to new ones then get quota
                    (SHROUD_MAX_INBOXES, default 250000 embedded, 1000000 on Redis)
  --max-store-bytes N  embedded: bytes of stored items at most; then every deposit gets quota
                    (SHROUD_MAX_STORE_BYTES, default 536870912 = 512 MiB)
  --max-pending-bytes N  embedded: bytes waiting in rounds at most
                    (SHROUD_MAX_PENDING_BYTES, default 268435456 = 256 MiB)
  --max-replay-records N  embedded: opened requests remembered at most; then new requests
                    get 503 until the HPKE key rotates (SHROUD_MAX_REPLAY_RECORDS, default 1000000)
  On Redis, bound its memory with maxmemory (docs/DEPLOYMENT.md).

Inboxes (every backend):
  --inbox-max-items N  items one inbox holds at most; deposits beyond get quota
                    (SHROUD_INBOX_MAX_ITEMS, default 10000)
  --inbox-max-bytes N  bytes of items one inbox holds at most
                    (SHROUD_INBOX_MAX_BYTES, default 67108864 = 64 MiB)
  --retention-days N   days an unread item is kept, counted in whole UTC days
                    (SHROUD_RETENTION_DAYS, default 7)

Privacy Pass (docs/PRIVACY-PASS.md): anonymous tokens that a provider issues to its own users
and any relay that accepts the provider checks without learning who spends them.
  --tokens R        when deposits and forwards must carry a token: off, always, or allowance
                    (the first --token-free-per-minute tokenless ones each minute pass)
                    (SHROUD_TOKENS, default off)
  --token-free-per-minute N  tokenless deposits per minute across the relay under allowance
                    (SHROUD_TOKEN_FREE_PER_MINUTE, default 600)
  --token-accept URL  an issuer (a peer relay) whose tokens this relay takes besides its own,
                    repeatable (SHROUD_TOKEN_ACCEPT, comma-separated). Spent tokens are kept in
                    the replay records: not with --store memory, which forgets them on restart
  --attester A      issue tokens at POST /v1/tokens to whom A vouches for (SHROUD_ATTESTER):
                    invite   a holder of one of the secrets in --invite-file, sent as
                             \`Authorization: Bearer SECRET\` (SHROUD_INVITE_FILE; one secret of
                             16+ characters per line, each with its own allowance)
                    header   a user your reverse proxy logged in and named in the header
                             --attester-header (SHROUD_ATTESTER_HEADER); the proxy must drop
                             that header from what clients send
                    address  anyone, counted per client address (IPv6 /64); see --trust-proxy
  --tokens-per-day N  tokens one attested client gets a day (SHROUD_TOKENS_PER_DAY, default
                    1000). Counted in each relay process's memory (with --workers N, per worker)
  Issuer keys (RSA-2048) live in the key ring, issue for 7 days and are honoured for 14.

Operations: GET /healthz answers while the process runs; GET /readyz answers 200 "ready" when
the store answers and the keys are loaded, else 503 naming what is not.
  --metrics         serve GET /metrics, Prometheus text of aggregate counters and histograms
                    (SHROUD_METRICS=1; off by default). SHROUD_METRICS_TOKEN (environment only,
                    16+ characters) turns it on and requires \`Authorization: Bearer TOKEN\`.
  --log-level L     least level logged on stderr: debug, info, warn or error
                    (SHROUD_LOG_LEVEL, default info)
  --log-format F    text (\`shroud: warn: ...\`) or json, one object per line with level, event
                    and msg (SHROUD_LOG_FORMAT, default text). Lines carry no timestamp and
                    never an address, inbox id, token, size or the time of a request: failures
                    of single requests are counted and reported with maintenance (every
                    minute); warnings name a peer down, a dead letter, Redis lost, each at most
                    once a minute per peer.

Federation: for clients using \`send --via\` and \`fetch --via\`, this relay forwards deposits to
a peer and proxies fetches to it; it takes batches from peers. Every round each peer gets the
same --batches-per-round signed batches of fixed size, padded with cover, however busy the
link; with --ingress-release round a request through this relay waits up to one round. open
accepts any relay as next hop and sender; one that is not a peer takes forwards only once it
served a valid signed descriptor, and at most --max-dynamic-peers of them per round. No peers
and allowlist: federation is off.
Both sides must name each other by the origin each serves (--origin).

SHROUD_MASTER_KEY (environment only, never a flag): 32 bytes in base64 that encrypt the key
ring in Redis; every process of one relay needs the same one (\`shroud keys new-master-key\`).

A fault nobody caught is one line on stderr: an outage of Redis or the network is lived through
(the relay keeps serving and takes requests again once Redis is back); any other fault closes
the relay and exits 1, for a supervisor to restart it.

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
  --ack          after the messages are written, delete them from the relay: every message up
                 to the first item that does not open (that item and all after it stay, and
                 the count says so)
  --via URL      fetch (and ack) through this relay, a peer of the inbox's relay, so the inbox's
                 relay never sees your address. A message sent with --via arrives after the
                 ingress relay's next round and the inbox relay's next one.`;

export const KEYS_USAGE = `Usage: shroud keys rotate [--data DIR | --redis URL [--redis-prefix P]] [--overlap-hours H]
       shroud keys new-master-key

rotate: adds a new HPKE key to the relay's key ring; older keys keep working for the overlap,
then are deleted. A running relay picks the new key up by itself (at its next maintenance,
within a minute, or when a client uses it), or at once on SIGHUP.

  --data DIR            directory holding the relay's keys (env SHROUD_DATA, default ./.shroud)
  --redis URL           the key ring in Redis instead (redis:// or redis+cluster://; env REDIS_URL;
                        needs SHROUD_MASTER_KEY)
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
  --redis URL           the relay's Redis (redis:// or redis+cluster://; env REDIS_URL; needs
                        SHROUD_MASTER_KEY)
  --redis-prefix P      Redis key prefix (env SHROUD_REDIS_PREFIX, default shroud)

On the embedded store the serving relay mirrors its dead letters into DIR/dead-letters every
5 s (and on SIGHUP); list reads that mirror, and replay and drop leave a request there that the
relay applies at its next sync.`;

export const PROFILE_USAGE = `Usage: shroud profile create --name NAME --relay URL [--via URL] [--key-packages N]
                             [--profile DIR] [--key-file FILE]
       shroud profile card [--profile DIR] [--key-file FILE]

A profile is a directory holding one group member: its name, its personal inbox (where
invitations arrive) and its key packages, plus every group it is in. Everything in it is
encrypted (AES-256-GCM) under SHROUD_PASSPHRASE (through scrypt) or a 32-byte key file, except
DIR/card.json, the contact card others need to add you to a group.

create: makes the member with a personal inbox on URL (pinned to the relay's signing key) and
writes DIR/card.json. With --via, every request of this profile goes through that relay, a peer
of the others: the relays holding your inboxes see it, never you.
card: prints the card (making new key packages when every one has been used) and rewrites
DIR/card.json.

  --name NAME         your name in groups (1 to 64 bytes)
  --relay URL         the relay holding your personal inbox and the groups you create
  --via URL           an ingress relay for every request (a peer of the other relays)
  --key-packages N    how many groups may add you from one card (default 4, at most 64)
  --profile DIR       the profile directory (SHROUD_PROFILE, default ./.shroud-profile)
  --key-file FILE     a 32-byte key (raw or base64url) instead of a passphrase (SHROUD_KEY_FILE);
                      profile create makes FILE with a random key if it does not exist

SHROUD_PASSPHRASE (environment only, never a flag): the passphrase the profile is encrypted
under, at least 12 characters for a new profile (scrypt N=2^17, r=8: about 0.3 s and 128 MiB
per command). A wrong one fails with "cannot decrypt the profile".`;

export const GROUP_USAGE = `Usage: shroud group create GROUP
       shroud group add GROUP CARD_FILE...
       shroud group remove GROUP NAME...
       shroud group send GROUP [TEXT]
       shroud group read [GROUP]
       shroud group list
  (each with [--profile DIR] [--key-file FILE]; see \`shroud profile --help\`)

MLS groups of the profile's member. Each group's messages go to an inbox on the relay of the
member who created it; the inbox changes with every epoch (every change of members).

create: a new group with you as its only member, on your profile's relay.
add: adds the members whose cards (card.json from \`shroud profile create\`) are given; each
  gets an invitation in its personal inbox and joins at its next \`group read\`.
remove: removes members by name.
  add and remove print the outcome: "committed at epoch N" (possibly "after losing a race" to
  another member's change, which is applied first), or "unchanged" when nothing was left to do.
send: sends TEXT (default: stdin to the end) to the group.
read: joins the groups you were invited to, then prints what arrived in every group (or in
  GROUP), one line per event: "[friends] bob: hi", "[friends] alice added carol (epoch 3)",
  "[friends] you were removed by alice". Messages sent through a --via relay show up after that
  relay's next round and the group relay's next one.
list: each group with its epoch and members (no network).

Messages and commits are readable only by the group's members; the relays see sealed, padded
deposits into inboxes whose ids change every epoch.

While \`shroud agent\` runs for the profile, these commands (and \`profile card\`) go through it
and need no passphrase: read then prints what the agent has read on its own, without fetching
anything (see \`shroud agent --help\`).`;

export const AGENT_USAGE = `Usage: shroud agent [--profile DIR] [--key-file FILE] [--shaping off|constant|poisson]
                    [--shaping-interval-ms N]
       shroud agent status [--profile DIR]

Runs a client for the profile until SIGINT or SIGTERM. A one-shot command (\`group send\`,
\`group read\`) starts, sends and exits, so its requests show anyone watching your connection
or your relays when you act. The agent's relay clients instead send one same-size request per
slot on a fixed schedule, whatever you do (cover when there is nothing to send); it reads your
groups and invitations on its own timer and keeps what it read for \`group read\`.

While it runs, the profile's other commands (\`group ...\`, \`profile card\`) hand their work to
it over DIR/agent.sock (a Unix domain socket, mode 0600) and print what it answers; they need no
passphrase then, so anyone who can act as your user can use the profile while the agent runs.
It holds the profile: a second agent is refused. On SIGINT or SIGTERM it saves the profile,
stops its clients, removes the socket and exits 0; a socket left by a killed agent is removed
by the next command or agent. Unix only (Windows has no Unix domain sockets at a path here).

status: per relay client, its requests in slots (real and cover) and its loop's deposits sent
  into its own inbox and read back from it (to notice traffic dropped on the way), and how many
  events the agent keeps for \`group read\`.

  --shaping P       off: requests leave when made (the agent still reads on its own timer);
                    constant: one 4 KiB request every interval per relay client (the default:
                    about 57.6 MB an hour, up and down, per relay client at 500 ms);
                    poisson: the same on average, with exponential gaps (Loopix-like)
                    (SHROUD_SHAPING, default constant)
  --shaping-interval-ms N  the gap between slots (the mean gap for poisson), for tuning and
                    tests; the groups are read every 20 gaps on average
                    (SHROUD_SHAPING_INTERVAL_MS, default 500; 10 to 600000)
  --profile DIR     the profile directory (SHROUD_PROFILE, default ./.shroud-profile)
  --key-file FILE   the profile's key file instead of SHROUD_PASSPHRASE (SHROUD_KEY_FILE)

It prints a line when it is ready and one when it stops, nothing in between.`;

export const TOKENS_USAGE = `Usage: shroud tokens status [--profile DIR] [--key-file FILE]
       shroud tokens refill [--issuer URL] [--count N] [--profile DIR] [--key-file FILE]

Privacy Pass tokens (docs/PRIVACY-PASS.md): your provider hands them out to its own users,
blinded, and a relay that asks for one (its descriptor says so) takes one per deposit without
learning who spent it. The profile's commands spend them when a relay asks; they are kept
encrypted in DIR/tokens.enc.

status: the issuer and how many tokens the wallet holds.
refill: gets tokens from the issuer in one request and keeps the issuer (and the invite) for
later refills; \`shroud agent\` refills by itself when fewer than 8 are left.

  --issuer URL        the relay that issues your tokens (default: the one refilled from
                      before, else the profile's home relay)
  --count N           tokens to get (default 32; the issuer allows some number a day)
  --profile DIR       the profile directory (SHROUD_PROFILE, default ./.shroud-profile)
  --key-file FILE     the profile's key file (SHROUD_KEY_FILE)

SHROUD_INVITE (environment only): the invite your provider gave you, for an issuer that hands
tokens to invite holders; kept in the profile for later refills. While \`shroud agent\` runs,
the commands go to it; stop it to set --issuer or SHROUD_INVITE.`;

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
  profile create  make a group member in an encrypted profile directory, and its card
  profile card    print the profile's contact card
  group           create, add, remove, send, read, list: MLS groups of a profile
  agent           keep a profile's client running: traffic on a fixed schedule, groups read
                  on its own; the profile's commands go through it
  tokens          status, refill: the profile's Privacy Pass tokens, for relays that want one
  demo            two federated relays and an MLS group, beside what each operator sees
                  (--web: play it in a browser, three people on one page)
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

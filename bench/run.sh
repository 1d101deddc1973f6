#!/usr/bin/env bash
# `make bench`: release-builds the server and bench/, starts the server on its own database
# with an SMTP URL pointing at the bench's sink, runs the eight measurements and prints a
# summary against the targets. Exits 0 when every target is met, 1 when one is missed.
#
#   bench/run.sh [NAME...]   only the measurements named (argon2, register-rate,
#                            register-saturation, profile, token, admin-search,
#                            products-search, place-order, flood, webhooks, cluster); all by default
#
# Postgres: DATABASE_URL when set (its role must be able to create databases; a database
# bench_<pid> is created and dropped), otherwise a throwaway cluster under target/ that is
# removed at the end, pass or fail.
set -euo pipefail
cd "$(dirname "$0")/.."

ARGON2_SECONDS=15
SATURATION_CONNECTIONS=8
SATURATION_SECONDS=20
RATE=25
RATE_SECONDS=20
PROFILE_CONNECTIONS=32
PROFILE_SECONDS=20
# The server's pool (DATABASE_MAX_CONNECTIONS's default): pgbench runs the profile's statement at
# this concurrency too, the most the server itself ever has in flight.
POOL_SIZE=10
TOKEN_CONNECTIONS=8
TOKEN_SECONDS=10
ADMIN_SEARCH_ACCOUNTS=100000
ADMIN_SEARCH_CONNECTIONS=8
ADMIN_SEARCH_SECONDS=15
# The search whose query plans go into $plan_file: a broad one, part of two surnames (Harris,
# Harrison) and a first name (Harry), about one account in twenty.
PLAN_TERM=harr
PRODUCTS=100000
PRODUCTS_SEARCH_CONNECTIONS=32
PRODUCTS_SEARCH_SECONDS=15
# The keyword whose query plans go into $products_plan_file: a noun of the seeded names, about
# one product in a hundred.
PLAN_KEYWORD=kettle
# Hot products, the stock of each (int4, far from running out at a few thousand units a
# second), the people ordering, and the word the bench finds the products by (its HOT_KEYWORD).
ORDER_PRODUCTS=100
ORDER_STOCK=10000000
ORDER_USERS=32
ORDER_CONNECTIONS=32
ORDER_SECONDS=15
ORDER_KEYWORD=benchorder
# Flood: this many registrations with FLOOD_PASSWORD_BYTES-byte passwords and this many valid
# ones, all sent at once.
FLOOD_BIG=${FLOOD_BIG:-200}
FLOOD_VALID=${FLOOD_VALID:-200}
FLOOD_PASSWORD_BYTES=1048576
# Webhooks: registrations at this rate for this long, the server restarted with WEBHOOK_URLS
# pointing at the bench's receiver.
WEBHOOK_RATE=25
WEBHOOK_SECONDS=20
# Cluster: registrations and profile reads through nginx (deploy/nginx/accounts.conf, TLS) with
# one app server behind it, then two, on this one machine.
CLUSTER_REGISTER_CONNECTIONS=8
CLUSTER_PROFILE_CONNECTIONS=32
CLUSTER_SECONDS=15

log() { printf '[bench] %s\n' "$*" >&2; }

MEASUREMENTS="argon2 register-rate register-saturation profile token admin-search products-search place-order flood webhooks cluster"

work_dir="target/bench"
server_log="$work_dir/server.log"
plan_file="$work_dir/admin-search-plan.txt"
products_plan_file="$work_dir/products-search-plan.txt"
results="$work_dir/results-$$.txt"
pg_dir=""
db_url=""
db_name="bench_$$"
server_pid=""
# The environment the server runs with; the administrator's command line gets it too.
server_env=()
# Added to it (the webhooks run's WEBHOOK_URLS and WEBHOOK_SECRET).
extra_env=()
# The cluster run: its app servers, nginx, and where their configuration and logs go.
replica_pids=()
nginx_pid=""
cluster_dir="$PWD/$work_dir/cluster"

for name in "$@"; do
  case " $MEASUREMENTS " in
    *" $name "*) ;;
    *) log "unknown measurement $name (use: $MEASUREMENTS)"; exit 2 ;;
  esac
done
selected=" ${*:-$MEASUREMENTS} "

# wanted NAME: whether the measurement NAME is to run.
wanted() { [[ "$selected" == *" $1 "* ]]; }

cleanup() {
  stop_server
  stop_cluster
  if [ -n "$pg_dir" ]; then
    scripts/postgres.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
    pg_dir=""
  elif [ -n "$db_url" ]; then
    scripts/postgres.sh drop-db "$DATABASE_URL" "$db_name" || true
  fi
  db_url=""
  rm -f "$results"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Asks the server to shut down (SIGTERM: it finishes in-flight requests), then insists.
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

build() {
  scripts/tools.sh build node
  if wanted cluster; then scripts/tools.sh nginx; fi
  log "building the server and the site (release)"
  scripts/build.sh release
  log "building the bench (release)"
  cargo build --release -p bench
}

# Sets db_url to a fresh database on DATABASE_URL's server, or on a throwaway cluster.
prepare_database() {
  if [ -z "${DATABASE_URL:-}" ]; then
    pg_dir="target/pg-bench-$$"
    local port
    port=$(scripts/postgres.sh free-port)
    DATABASE_URL=$(scripts/postgres.sh start "$pg_dir" "$port" --throwaway)
    export DATABASE_URL
  else
    log "using DATABASE_URL from the environment"
  fi
  scripts/postgres.sh create-db "$DATABASE_URL" "$db_name"
  db_url="${DATABASE_URL%/*}/$db_name"
}

# free_port_except PORT: a free port other than PORT (two quick asks may get the same one).
free_port_except() {
  local port
  port=$(scripts/postgres.sh free-port)
  while [ "$port" = "$1" ]; do port=$(scripts/postgres.sh free-port); done
  echo "$port"
}

start_server() {
  local port=$1 smtp_port=$2 secret
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  server_env=(
    DATABASE_URL="$db_url"
    LEPTOS_SITE_ADDR="127.0.0.1:$port"
    LEPTOS_SITE_ROOT=target/site
    APP_ENV=production
    # warn by default: the runs measure the stack, not the log pipe. BENCH_RUST_LOG=info,sqlx=warn
    # (production's) measures it with a JSON line per request.
    RUST_LOG="${BENCH_RUST_LOG:-warn}"
    SMTP_URL="smtp://127.0.0.1:$smtp_port"
    # Production refuses a base URL that is not https; the bench signs in with bearer tokens
    # (no cookies), so the links in its emails are all this changes.
    APP_BASE_URL="https://127.0.0.1:$port"
    RATE_LIMIT_REGISTER_PER_IP=0
    # One listener per process: the cluster run starts several servers at once.
    METRICS_ADDR=127.0.0.1:0
    RATE_LIMIT_LOGIN_PER_IP=0
    SECRET_KEY="$secret"
    ${extra_env[@]+"${extra_env[@]}"}
  )
  mkdir -p "$work_dir"
  log "starting the server on 127.0.0.1:$port (log: $server_log)"
  # env execs the server: $! is the server's own process.
  env "${server_env[@]}" target/release/server >"$server_log" 2>&1 &
  server_pid=$!
}

# Polls GET /readyz for up to 30 s; gives up early if the server exits.
wait_ready() {
  local url=$1 deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl --noproxy '*' -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "the server exited during start-up; the end of its log:"
      tail -n 20 "$server_log" >&2
      return 1
    fi
    sleep 0.5
  done
  log "the server was not ready within 30 s; the end of its log:"
  tail -n 20 "$server_log" >&2
  return 1
}

# start_replica N PORT NGINX_PORT: app server N of the cluster run, on the bench's database and
# SMTP sink, behind nginx (TRUSTED_PROXIES: its address), with the secret of the first server.
start_replica() {
  local n=$1 port=$2 nginx_port=$3 var vars=()
  # Without the webhooks run's receiver, which is gone.
  for var in "${server_env[@]}"; do
    case "$var" in WEBHOOK_*) ;; *) vars+=("$var") ;; esac
  done
  mkdir -p "$cluster_dir"
  env "${vars[@]}" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    APP_BASE_URL="https://127.0.0.1:$nginx_port" \
    TRUSTED_PROXIES=127.0.0.1/32 \
    target/release/server >"$cluster_dir/server-$n.log" 2>&1 &
  replica_pids+=($!)
  local deadline=$((SECONDS + 30))
  until curl --noproxy '*' -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "app server $n did not start; the end of its log:"
      tail -n 20 "$cluster_dir/server-$n.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

# start_nginx HTTPS_PORT HTTP_PORT HOST:PORT...: nginx with the production site in front of
# those app servers (scripts/cluster.sh writes the configuration and the certificate).
start_nginx() {
  scripts/cluster.sh nginx-conf "$cluster_dir" "$@"
  "${NGINX:-/usr/sbin/nginx}" -p "$cluster_dir" -e "$cluster_dir/nginx-error.log" \
    -c "$cluster_dir/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  local deadline=$((SECONDS + 10))
  until curl --noproxy '*' -ksS -o /dev/null --max-time 2 "https://127.0.0.1:$1/readyz" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nginx did not start; the end of its log:"
      tail -n 20 "$cluster_dir/nginx-error.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

stop_nginx() {
  [ -n "$nginx_pid" ] || return 0
  kill -QUIT "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=""
}

stop_cluster() {
  stop_nginx
  local pid
  for pid in ${replica_pids[@]+"${replica_pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${replica_pids[@]+"${replica_pids[@]}"}; do wait "$pid" 2>/dev/null || true; done
  replica_pids=()
}

# cluster_phase NAME TITLE ARGS...: phase, with the RESULT line renamed NAME (the bench names
# it after what it measured: register-saturation, profile).
cluster_phase() {
  local name=$1 title=$2
  shift 2
  printf '\n==> %s\n' "$title"
  target/release/bench "$@" | python3 -u -c '
import json, sys
for line in sys.stdin:
    if line.startswith("RESULT "):
        result = json.loads(line[len("RESULT "):])
        result["name"] = sys.argv[1]
        line = "RESULT " + json.dumps(result) + "\n"
    sys.stdout.write(line)
' "$name" | tee -a "$results"
}

# cpu_seconds PID: the CPU time (user and system) PID has used so far, in seconds.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# phase TITLE ARGS...: runs the bench binary, showing its output and keeping its RESULT line.
phase() {
  printf '\n==> %s\n' "$1"
  shift
  target/release/bench "$@" | tee -a "$results"
}

db_psql() { scripts/postgres.sh psql "$db_url" -X -q -v ON_ERROR_STOP=1 "$@"; }

# Puts ADMIN_SEARCH_ACCOUNTS accounts straight into the users table, in one statement, as a
# year of registrations: names from two lists (every pairing of first name and surname comes
# up), unique addresses userN@example.com, unique valid phone numbers (the server's parser does
# not see them, so they keep to ranges libphonenumber's metadata calls valid: London
# 020 80xx xxxx for even N, mobile 07400 xxxxxx for odd N, up to a million accounts; the
# registration runs use 020 7xxx xxxx), created_at evenly over the year, oldest first. Nearly all
# are active (verified); a sixth of the last 12 hours' are pending (the server's housekeeping
# purges pending accounts after 24 hours), one in 200 is disabled. Then VACUUM ANALYZE: fresh
# statistics for the planner, and the trigram index's pending list merged into the index (a
# plain ANALYZE leaves it for autovacuum), as on a table that grew over a year.
seed_accounts() {
  local started=$SECONDS
  log "seeding $ADMIN_SEARCH_ACCOUNTS accounts"
  db_psql -v accounts="$ADMIN_SEARCH_ACCOUNTS" <<'SQL'
with names as (
    select array['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Isabella', 'Rosie',
                 'Sophia', 'Grace', 'Freya', 'Ella', 'Florence', 'Evie', 'Charlotte', 'Poppy',
                 'Sienna', 'Layla', 'Zoë', 'Priya', 'Aisha', 'Siobhan', 'Małgorzata', 'Noah',
                 'Oliver', 'George', 'Arthur', 'Muhammad', 'Leo', 'Harry', 'Oscar', 'Archie',
                 'Henry', 'Theodore', 'Freddie', 'Jack', 'Charlie', 'Alfie', 'Jacob', 'Thomas',
                 'William', 'Mateo', 'Kwame', 'Ravi', 'Łukasz', 'José', 'Yusuf'] as firsts,
           array['Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson',
                 'Thomas', 'Johnson', 'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker',
                 'White', 'Edwards', 'Hughes', 'Green', 'Hall', 'Lewis', 'Harris', 'Clarke',
                 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill', 'Ward',
                 'Morris', 'Moore', 'Clark', 'Lee', 'King', 'Baker', 'Harrison', 'Morgan',
                 'Allen', 'James', 'Scott', 'Phillips', 'Watson', 'Davis', 'Parker', 'Price',
                 'Bennett', 'Young', 'Griffiths', 'Mitchell', 'Kelly', 'Cook', 'Carter',
                 'Richardson', 'Bailey', 'Collins', 'Nowak', 'Müller', 'García', 'Okafor',
                 'Khan', 'Nguyen', 'Kowalski', 'Fitzgerald'] as lasts
), seed as (
    select n,
           firsts[1 + n % cardinality(firsts)] as first_name,
           -- Consecutive accounts get different surnames, as in life (so the accounts of a
           -- surname are spread over the table). Between accounts with the same first name
           -- (every 48th) the surname moves on by 49 places, and 49 is coprime with the 65
           -- surnames: every pairing comes up, equally often.
           lasts[1 + (n + n / cardinality(firsts)) % cardinality(lasts)] as last_name,
           now() - interval '365 days'
               + make_interval(secs => n * 365 * 86400.0 / :accounts) as created_at
    from names, generate_series(1, :accounts) as n
), people as (
    select *,
           case when created_at > now() - interval '12 hours' and n % 6 = 0 then 'pending'
                when n % 200 = 0 then 'disabled'
                else 'active' end as status
    from seed
)
insert into users (first_name, last_name, email, phone_number, password_hash, status,
                   email_verified_at, last_activity_at, last_login_at, disabled_at,
                   disabled_reason, created_at, updated_at)
select first_name, last_name,
       'user' || n || '@example.com',
       case when n % 2 = 0 then '+44208' || lpad(n::text, 7, '0')
            else '+447400' || lpad(n::text, 6, '0') end,
       'seeded: no password signs in',
       status,
       case when status <> 'pending' then created_at + interval '4 minutes' end,
       created_at,
       case when status = 'active' and n % 4 <> 0
            then created_at + (now() - created_at) * ((n % 97) / 97.0) end,
       case when status = 'disabled' then created_at + interval '30 days' end,
       case when status = 'disabled' then 'seeded: abuse report' end,
       created_at, created_at
from people;
SQL
  db_psql -c 'vacuum (analyze) users'
  log "seeded in $((SECONDS - started)) s"
}

# Puts PRODUCTS products straight into the products table, in one statement, as a shop's year of
# additions: the name is an adjective, a colour and a kind of thing ("Rustic Indigo Kettle"),
# every combination once (25 × 40 × 100 = 100,000; beyond, " Mk 2", " Mk 3", …, so names stay
# unique), the kind of thing changing from one product to the next (a word's products are spread
# over the table, as in life). So one kind of thing is about one product in a hundred, a colour
# one in forty, an adjective one in twenty-five. The description says what it is made of, how
# it is finished, where it is made and how to care for it, from lists of other lengths. Prices
# from 0.49 to 198.49, one product in 17 out of stock, created_at evenly over the year. Then
# VACUUM ANALYZE, for the reasons seed_accounts gives (the trigram index's pending list).
seed_products() {
  local started=$SECONDS
  log "seeding $PRODUCTS products"
  db_psql -v products="$PRODUCTS" <<'SQL'
with words as (
    select array['Classic', 'Rustic', 'Nordic', 'Coastal', 'Vintage', 'Modern', 'Heritage',
                 'Compact', 'Artisan', 'Studio', 'Country', 'Urban', 'Essential', 'Deluxe',
                 'Heirloom', 'Minimal', 'Harbour', 'Meadow', 'Orchard', 'Woodland', 'Highland',
                 'Riverside', 'Summer', 'Winter', 'Cottage'] as adjectives,
           array['Sage', 'Ochre', 'Indigo', 'Charcoal', 'Ivory', 'Teal', 'Mustard', 'Terracotta',
                 'Navy', 'Blush', 'Olive', 'Slate', 'Copper', 'Cobalt', 'Moss', 'Sand', 'Rust',
                 'Plum', 'Pearl', 'Graphite', 'Saffron', 'Coral', 'Juniper', 'Heather', 'Pewter',
                 'Amber', 'Clay', 'Denim', 'Fern', 'Flint', 'Honey', 'Lavender', 'Mint', 'Oat',
                 'Pebble', 'Rose', 'Ruby', 'Stone', 'Storm', 'Walnut'] as colours,
           array['Kettle', 'Teapot', 'Mug', 'Teacup', 'Saucer', 'Dinner Plate', 'Side Plate',
                 'Pasta Bowl', 'Cereal Bowl', 'Milk Jug', 'Carafe', 'Tumbler', 'Wine Glass',
                 'Skillet', 'Saucepan', 'Stockpot', 'Wok', 'Casserole Dish', 'Roasting Tin',
                 'Colander', 'Grater', 'Whisk', 'Ladle', 'Spatula', 'Trivet', 'Chopping Board',
                 'Bread Bin', 'Butter Dish', 'Salt Mill', 'Pepper Mill', 'Spice Rack',
                 'Knife Block', 'Apron', 'Tea Towel', 'Oven Glove', 'Tablecloth', 'Napkin Set',
                 'Placemat', 'Coaster Set', 'Candle', 'Lantern', 'Vase', 'Planter',
                 'Watering Can', 'Trowel', 'Secateurs', 'Bird Feeder', 'Doormat', 'Cushion',
                 'Throw', 'Blanket', 'Duvet Cover', 'Pillowcase', 'Bath Towel', 'Bath Mat',
                 'Soap Dish', 'Mirror', 'Wall Clock', 'Alarm Clock', 'Desk Lamp', 'Floor Lamp',
                 'Lampshade', 'Bookend', 'Photo Frame', 'Notebook', 'Pencil Case',
                 'Fountain Pen', 'Desk Tidy', 'Footstool', 'Side Table', 'Bench', 'Wall Shelf',
                 'Coat Hook', 'Umbrella Stand', 'Laundry Basket', 'Storage Box', 'Picnic Hamper',
                 'Tote Bag', 'Backpack', 'Wallet', 'Scarf', 'Beanie', 'Gloves', 'Socks',
                 'Slippers', 'Water Bottle', 'Lunch Box', 'Flask', 'Picnic Blanket', 'Hammock',
                 'Deckchair', 'Parasol', 'Kite', 'Jigsaw Puzzle', 'Chess Set', 'Cafetiere',
                 'Egg Cup', 'Cake Stand', 'Rolling Pin', 'Measuring Jug'] as things,
           array['stoneware', 'porcelain', 'enamelled steel', 'cast iron', 'recycled glass',
                 'borosilicate glass', 'oak', 'beech', 'ash', 'bamboo', 'cork', 'linen',
                 'organic cotton', 'wool', 'merino', 'jute', 'rattan', 'seagrass', 'brass',
                 'copper', 'stainless steel', 'recycled plastic', 'leather', 'waxed canvas',
                 'terracotta', 'marble', 'slate', 'felt', 'walnut'] as materials,
           array['hand-glazed', 'hand-finished', 'brushed', 'oiled', 'stonewashed', 'matte',
                 'speckled', 'hammered', 'woven by hand', 'powder-coated', 'stitched',
                 'turned on a lathe', 'dyed with plants'] as finishes,
           array['Portugal', 'Stoke-on-Trent', 'Kyoto', 'Wales', 'Lithuania', 'Cornwall',
                 'Denmark', 'Sheffield', 'Morocco', 'Sweden', 'the Lake District', 'Vietnam',
                 'Yorkshire', 'Italy', 'Kerala', 'Scotland', 'Mexico'] as places,
           array['Dishwasher safe.', 'Wipe clean with a damp cloth.',
                 'Machine washable at 30 degrees.', 'Hand wash only.',
                 'Oil it now and then to keep it supple.', 'Gets better with age.',
                 'Spare parts for ten years.', 'Comes gift-wrapped.',
                 'Sent in recyclable packaging.', 'Five-year guarantee.',
                 'Fits through a letterbox.'] as cares
), seed as (
    select n,
           things[1 + n % cardinality(things)] as thing,
           colours[1 + (n / cardinality(things)) % cardinality(colours)] as colour,
           adjectives[1 + (n / (cardinality(things) * cardinality(colours)))
                      % cardinality(adjectives)] as adjective,
           n / (cardinality(things) * cardinality(colours) * cardinality(adjectives)) as round,
           -- Lists of lengths coprime with the hundred kinds of thing: every kind of thing
           -- comes in every material, finish, place and care.
           materials[1 + n % cardinality(materials)] as material,
           finishes[1 + (n / 7) % cardinality(finishes)] as finish,
           places[1 + (n / 3) % cardinality(places)] as place,
           cares[1 + (n / 11) % cardinality(cares)] as care,
           now() - interval '365 days'
               + make_interval(secs => n * 365 * 86400.0 / :products) as created_at
    from words, generate_series(0, :products - 1) as n
)
insert into products (name, description, price_cents, stock, created_at, updated_at)
select adjective || ' ' || colour || ' ' || thing
           || case when round > 0 then ' Mk ' || (round + 1) else '' end,
       'A ' || lower(colour) || ' ' || lower(thing) || ' in ' || material || ', ' || finish
           || '. Made in ' || place || '. ' || care,
       ((n % 397) * 211 % 397 + 1) * 50 - 1,
       case when n % 17 = 0 then 0 else 1 + (n % 250) * 31 % 250 end,
       created_at, created_at
from seed;
SQL
  db_psql -c 'vacuum (analyze) products'
  log "seeded in $((SECONDS - started)) s"
}

# The products the orders are for: ORDER_PRODUCTS of them, ORDER_KEYWORD in each name (the
# bench lists them by it), ORDER_STOCK units each.
seed_order_products() {
  log "adding $ORDER_PRODUCTS products with $ORDER_STOCK units each"
  db_psql -v products="$ORDER_PRODUCTS" -v stock="$ORDER_STOCK" -v keyword="$ORDER_KEYWORD" <<'SQL'
insert into products (name, description, price_cents, stock)
select initcap(:'keyword') || ' item ' || lpad(n::text, 3, '0'),
       'What the place-order bench orders.',
       100 + n * 10, :stock
from generate_series(1, :products) as n;
analyze products;
SQL
}

# Creates the administrator the search runs as, with the server's command line; sets
# admin_email and admin_password.
create_admin() {
  admin_email="bench-admin@example.com"
  admin_password="bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '%s\n' "$admin_password" |
    env "${server_env[@]}" target/release/server create-admin --email "$admin_email" \
      --first-name Bench --last-name Administrator --phone '+44 20 8999 9999' >&2
}

# Writes EXPLAIN (ANALYZE, BUFFERS) of the search's two queries for PLAN_TERM into plan_file:
# the statements services/admin.rs builds for q=PLAN_TERM (no filter, newest first, the first
# page; the count stops at COUNT_CAP + 1 = 101), prepared as the server's driver prepares them. A prepared statement's first five
# executions get a plan for their values (custom); after that Postgres may keep a generic plan,
# made without them, when it does not look dearer, so both are shown.
explain_search() {
  local pattern="%$PLAN_TERM%"
  db_psql -v pattern="$pattern" >"$plan_file" <<'SQL'
\pset pager off
prepare count_users(text, bigint) as
    select count(*) from (select 1 from users where true and search_text like $1 limit $2) as matches;
prepare page_users(text, bigint, bigint) as
    select id, first_name, last_name, email, phone_number, status, role,
           rfc3339(created_at) as created_at, rfc3339(last_login_at) as last_login_at
    from users where true and search_text like $1
    order by users.created_at desc, users.id desc limit $2 offset $3;
\echo '==> the count, custom plan:' :'pattern'
explain (analyze, buffers) execute count_users(:'pattern', 101);
\echo '==> the page (limit 20, offset 0), custom plan:' :'pattern'
explain (analyze, buffers) execute page_users(:'pattern', 20, 0);
set plan_cache_mode = force_generic_plan;
\echo '==> the count, generic plan:' :'pattern'
explain (analyze, buffers) execute count_users(:'pattern', 101);
\echo '==> the page (limit 20, offset 0), generic plan:' :'pattern'
explain (analyze, buffers) execute page_users(:'pattern', 20, 0);
SQL
  log "query plans of the search for '$PLAN_TERM': $plan_file"
}

# Writes EXPLAIN (ANALYZE, BUFFERS) of the catalogue search's two queries for PLAN_KEYWORD into
# products_plan_file: the statements services/catalog.rs builds for keyword=PLAN_KEYWORD and
# nothing else (sorted by name, the first page of 20; the count, which capped_total runs when
# that page is full, stops at COUNT_CAP + 1 = 101), custom and generic plans as for the users.
explain_products() {
  local pattern="%$PLAN_KEYWORD%"
  db_psql -v pattern="$pattern" >"$products_plan_file" <<'SQL'
\pset pager off
prepare page_products(text, bigint, bigint) as
    select id, name, description, price_cents, stock, version,
           rfc3339(created_at) as created_at, rfc3339(updated_at) as updated_at
    from products where deleted_at is null and search_text like $1
    order by lower(products.name) limit $2 offset $3;
prepare count_products(text, bigint) as
    select count(*) from (select 1 from products where deleted_at is null
                          and search_text like $1 limit $2) as matches;
\echo '==> the page (sorted by name, limit 20, offset 0), custom plan:' :'pattern'
explain (analyze, buffers) execute page_products(:'pattern', 20, 0);
\echo '==> the count, custom plan:' :'pattern'
explain (analyze, buffers) execute count_products(:'pattern', 101);
set plan_cache_mode = force_generic_plan;
\echo '==> the page (sorted by name, limit 20, offset 0), generic plan:' :'pattern'
explain (analyze, buffers) execute page_products(:'pattern', 20, 0);
\echo '==> the count, generic plan:' :'pattern'
explain (analyze, buffers) execute count_products(:'pattern', 101);
SQL
  log "query plans of the catalogue search for '$PLAN_KEYWORD': $products_plan_file"
}

# Reads the RESULT lines and prints the summary; exits 1 if a target is missed.
summary() {
  python3 - "$results" "$RATE" "$plan_file" "$products_plan_file" <<'PY'
import json
import sys

path, rate, plan_file, products_plan_file = sys.argv[1:5]
results = {}
with open(path) as f:
    for line in f:
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            results[result["name"]] = result

# Only the measurements that ran (all of them unless run.sh was given names).
bare = results.get("argon2")
saturation = results.get("register-saturation")
fixed = results.get("register-rate")
profile = results.get("profile")
profile_sql = results.get("profile-sql")
profile_sql_pool = results.get("profile-sql-pool")
profile_cpu = results.get("profile-server-cpu")
token = results.get("token")
search = results.get("admin-search")
products = results.get("products-search")
products_uncached = results.get("products-search-uncached")
products_sql = results.get("products-search-sql")
orders = results.get("place-order")
orders_sql = results.get("place-order-sql")
orders_sql_pool = results.get("place-order-sql-pool")
hooks = results.get("webhooks")
cluster = {key: results.get(f"cluster-{key}") for key in
           ("register-1", "register-2", "profile-1", "profile-2")}
flood = results.get("flood")
rows = []

def row(label, value, passed=None):
    verdict = "" if passed is None else ("PASS" if passed else "MISS")
    rows.append((label, value, verdict))

def ms(value):
    return "n/a" if value is None else f"{value:.1f} ms"

if bare:
    row("argon2 bare loop", f"{bare['hashes_per_sec']:.1f} hashes/s")
if saturation:
    row(
        "registrations at saturation",
        f"{saturation['registrations_per_sec']:.1f}/s, {saturation['error_count']} errors",
    )
if saturation and bare:
    ratio = saturation["registrations_per_sec"] / bare["hashes_per_sec"]
    row(
        "ratio (>= 0.85, zero errors)",
        f"{ratio:.2f}",
        ratio >= 0.85 and saturation["error_count"] == 0,
    )
if fixed:
    p95 = fixed["latency_ms"]["p95"]
    row(
        f"p95 latency at {rate}/s (<= 25 ms)",
        f"{ms(p95)}, {fixed['error_count']} errors",
        p95 is not None and p95 <= 25 and fixed["error_count"] == 0,
    )
    email = fixed["email"]
    email_p95 = email["latency_ms"]["p95"]
    row(
        f"email latency p95 at {rate}/s (<= 1 s)",
        f"{ms(email_p95)}, {email['missing']} of {email['expected']} missing",
        email_p95 is not None and email_p95 <= 1000 and email["missing"] == 0,
    )
if profile:
    profile_p99 = profile["latency_ms"]["p99"]
    row(
        "GET /api/profile (>= 6000/s, p99 <= 10 ms, zero errors)",
        f"{profile['requests_per_sec']:.0f}/s, p99 {ms(profile_p99)}, "
        f"{profile['error_count']} errors",
        profile["requests_per_sec"] >= 6000
        and profile_p99 is not None
        and profile_p99 <= 10
        and profile["error_count"] == 0,
    )
if profile and profile_cpu and profile["ok"]:
    row(
        "server CPU per GET /api/profile",
        f"{profile_cpu['cpu_seconds'] * 1000 / profile['ok']:.3f} ms "
        f"({profile_cpu['cpu_seconds']:.1f} s for {profile['ok']} answers)",
    )
if profile and profile_sql:
    ratio = profile["requests_per_sec"] / profile_sql["tps"]
    pool = (f", {profile['requests_per_sec'] / profile_sql_pool['tps']:.2f} of its "
            f"{profile_sql_pool['tps']:.0f}/s at {profile_sql_pool['connections']}"
            if profile_sql_pool else "")
    profile_p99 = profile["latency_ms"]["p99"]
    row(
        "GET /api/profile / the same SQL in pgbench (>= 0.5, p99 <= 5 ms)",
        f"{ratio:.2f} of {profile_sql['tps']:.0f}/s at {profile_sql['connections']}{pool}; "
        f"p99 {ms(profile_p99)}",
        ratio >= 0.5 and profile_p99 is not None and profile_p99 <= 5,
    )
if token:
    row(
        "token issue",
        f"{token['tokens_per_sec']:.1f} tokens/s, p99 {ms(token['latency_ms']['p99'])}, "
        f"{token['error_count']} errors",
    )
if token and bare:
    row(
        "token issue / argon2 bare loop",
        f"{token['tokens_per_sec'] / bare['hashes_per_sec']:.2f}",
    )
if search:
    search_p95 = search["latency_ms"]["p95"]
    ok, found = search["ok"], search["found"]
    row(
        f"admin search, {search['accounts']} accounts "
        f"(p95 <= 20 ms, zero errors, all found)",
        f"{search['requests_per_sec']:.0f}/s, p95 {ms(search_p95)}, "
        f"{found} of {ok} found, {search['error_count']} errors",
        search_p95 is not None
        and search_p95 <= 20
        and search["error_count"] == 0
        and ok > 0
        and found == ok,
    )
    row("admin search query plans", plan_file)
if products:
    products_p95 = products["latency_ms"]["p95"]
    ok, found = products["ok"], products["found"]
    row(
        f"catalogue search, {products['products']} products, {products['connections']} "
        f"connections (p95 <= 10 ms, zero errors, all found)",
        f"{products['requests_per_sec']:.0f}/s, p95 {ms(products_p95)}, "
        f"{found} of {ok} found, {products['error_count']} errors",
        products_p95 is not None
        and products_p95 <= 10
        and products["error_count"] == 0
        and ok > 0
        and found == ok,
    )
    row("catalogue search query plans", products_plan_file)
if products_uncached and products_sql:
    ratio = products_uncached["requests_per_sec"] / products_sql["tps"]
    row(
        "catalogue search without the cache / the same SQL in pgbench (>= 0.85)",
        f"{ratio:.2f}: {products_uncached['requests_per_sec']:.0f}/s (p95 "
        f"{ms(products_uncached['latency_ms']['p95'])}) of {products_sql['tps']:.0f}/s at "
        f"{products_sql['connections']}",
        ratio >= 0.85,
    )
if orders:
    stock_outs = orders["errors"].get("409", 0)
    other_errors = orders["error_count"] - stock_outs
    latency = orders["latency_ms"]
    row(
        f"place-order, {orders['connections']} connections "
        f"(>= 1000/s, no errors but 409, stock adds up)",
        f"{orders['orders_per_sec']:.0f}/s, p50 {ms(latency['p50'])}, p95 {ms(latency['p95'])}, "
        f"p99 {ms(latency['p99'])}, {stock_outs} × 409, {other_errors} other errors, "
        f"{orders['stock_taken']} units taken of {orders['units_ordered']} ordered",
        orders["orders_per_sec"] >= 1000
        and other_errors == 0
        and orders["stock_taken"] == orders["units_ordered"],
    )
if orders and orders_sql:
    ratio = orders["orders_per_sec"] / orders_sql["tps"]
    pool = (f", {orders['orders_per_sec'] / orders_sql_pool['tps']:.2f} of its "
            f"{orders_sql_pool['tps']:.0f}/s at {orders_sql_pool['connections']}"
            if orders_sql_pool else "")
    row(
        "POST /api/place-order / the same SQL in pgbench (>= 0.85)",
        f"{ratio:.2f} of {orders_sql['tps']:.0f}/s at {orders_sql['connections']}{pool}",
        ratio >= 0.85,
    )

if hooks:
    latency, floor = hooks["latency_ms"], hooks["from_response_ms"]
    row(
        f"webhook latency at {hooks['rate']:g}/s, event timestamp → receiver (all arrive)",
        f"p50 {ms(latency['p50'])}, p95 {ms(latency['p95'])}, max {ms(latency['max'])}; "
        f"from the response: p50 {ms(floor['p50'])}, p95 {ms(floor['p95'])}; "
        f"{hooks['missing']} of {hooks['expected']} missing, {hooks['error_count']} errors",
        hooks["missing"] == 0 and hooks["error_count"] == 0 and hooks["expected"] > 0,
    )
if flood:
    peak_mb = flood["rss_kib"]["peak"] / 1024
    row(
        "flood: server peak resident memory (< 300 MB)",
        f"{peak_mb:.1f} MB (before {flood['rss_kib']['before'] / 1024:.1f} MB)",
        peak_mb < 300,
    )
    health = flood["healthz"]
    health_p99 = health["latency_ms"]["p99"]
    health_errors = sum(health["errors"].values())
    row(
        "flood: /healthz every 10 ms, p99 (<= 50 ms, no errors)",
        f"{ms(health_p99)}, max {ms(health['latency_ms']['max'])}, "
        f"{health['latency_ms']['count']} answers, {health_errors} errors",
        health_p99 is not None and health_p99 <= 50 and health_errors == 0,
    )
    answers = "; ".join(
        kind + " " + ", ".join(f"{n} × {status}" for status, n in sorted(counts.items()))
        for kind, counts in sorted(flood["statuses"].items())
    )
    no_header = sum(n for status, n in flood["without_retry_after"].items() if status != "413")
    row(
        "flood: only 201, 413 and 503 (503 with Retry-After)",
        f"{answers}; {flood['unexpected']} unexpected, {no_header} 503 without Retry-After",
        flood["unexpected"] == 0 and no_header == 0,
    )

# One machine: the replicas share its cores with nginx, Postgres and the load, so no target;
# what a second process adds (or costs) is the figure.
for kind, unit, field in (("register", "registrations", "registrations_per_sec"),
                          ("profile", "GET /api/profile", "requests_per_sec")):
    for n in (1, 2):
        run = cluster[f"{kind}-{n}"]
        if run:
            row(
                f"{unit} via nginx (TLS), {n} replica{'s' if n > 1 else ''}",
                f"{run[field]:.1f}/s, p99 {ms(run['latency_ms']['p99'])}, "
                f"{run['error_count']} errors",
            )
    one, two = cluster[f"{kind}-1"], cluster[f"{kind}-2"]
    if one and two and one[field] > 0:
        row(f"{unit}: 2 replicas / 1", f"{two[field] / one[field]:.2f}")

print("\n==> summary")
width = max(len(label) for label, _, _ in rows)
for label, value, verdict in rows:
    print(f"  {label:<{width}}  {value:<36} {verdict}".rstrip())
sys.exit(1 if any(verdict == "MISS" for _, _, verdict in rows) else 0)
PY
}

build
prepare_database
server_port=$(scripts/postgres.sh free-port)
smtp_port=$(free_port_except "$server_port")
start_server "$server_port" "$smtp_port"
url="http://127.0.0.1:$server_port"
wait_ready "$url"

mkdir -p "$work_dir"
: >"$results"
if wanted argon2; then
  phase "argon2 bare loop, ${ARGON2_SECONDS} s" argon2 --seconds "$ARGON2_SECONDS"
fi
# The fixed rate first, on a quiet server: its email latency is what a person waits for. The
# saturation run leaves a queue of mail behind that would otherwise skew it.
if wanted register-rate; then
  phase "registration at $RATE/s, ${RATE_SECONDS} s" \
    register --url "$url" --smtp-port "$smtp_port" --seconds "$RATE_SECONDS" --rate "$RATE"
fi
if wanted register-saturation; then
  phase "registration at saturation, $SATURATION_CONNECTIONS connections, ${SATURATION_SECONDS} s" \
    register --url "$url" --smtp-port "$smtp_port" \
    --seconds "$SATURATION_SECONDS" --connections "$SATURATION_CONNECTIONS"
fi
if wanted profile; then
  # The server's own CPU over the run (its account's three hashes are about 0.05 s of it): per
  # request, a figure that moves far less with the machine's other load than the rate does.
  cpu_before=$(cpu_seconds "$server_pid")
  phase "profile with a bearer token, $PROFILE_CONNECTIONS connections, ${PROFILE_SECONDS} s" \
    profile --url "$url" --smtp-port "$smtp_port" \
    --seconds "$PROFILE_SECONDS" --connections "$PROFILE_CONNECTIONS"
  awk -v a="$cpu_before" -v b="$(cpu_seconds "$server_pid")" \
    'BEGIN { printf "RESULT {\"name\": \"profile-server-cpu\", \"cpu_seconds\": %.3f}\n", b - a }' \
    >>"$results"
  # The limit it is judged against: the server's own session lookup (`server statements`) in
  # pgbench, on the same database, at the same concurrency and at the pool's size.
  phase "the same read in pgbench -M prepared: the session lookup, $PROFILE_CONNECTIONS clients, ${PROFILE_SECONDS} s" \
    profile-sql --url "$url" --smtp-port "$smtp_port" --server target/release/server \
    --database-url "$db_url" --seconds "$PROFILE_SECONDS" --connections "$PROFILE_CONNECTIONS"
  cluster_phase profile-sql-pool "the same read in pgbench at the pool's size, $POOL_SIZE clients, ${PROFILE_SECONDS} s" \
    profile-sql --url "$url" --smtp-port "$smtp_port" --server target/release/server \
    --database-url "$db_url" --seconds "$PROFILE_SECONDS" --connections "$POOL_SIZE"
fi
if wanted token; then
  phase "token issue at saturation, $TOKEN_CONNECTIONS connections, ${TOKEN_SECONDS} s" \
    token --url "$url" --smtp-port "$smtp_port" \
    --seconds "$TOKEN_SECONDS" --connections "$TOKEN_CONNECTIONS"
fi
# Last: the accounts it needs would change what the runs above measure.
if wanted admin-search; then
  seed_accounts
  create_admin
  explain_search
  printf '%s\n' "$admin_password" |
    phase "administrators' search over $ADMIN_SEARCH_ACCOUNTS accounts, $ADMIN_SEARCH_CONNECTIONS connections, ${ADMIN_SEARCH_SECONDS} s" \
      admin-search --url "$url" --smtp-port "$smtp_port" --email "$admin_email" \
      --seconds "$ADMIN_SEARCH_SECONDS" --connections "$ADMIN_SEARCH_CONNECTIONS"
fi
if wanted products-search; then
  seed_products
  explain_products
  phase "catalogue search over $PRODUCTS products, $PRODUCTS_SEARCH_CONNECTIONS connections, ${PRODUCTS_SEARCH_SECONDS} s" \
    products-search --url "$url" --smtp-port "$smtp_port" \
    --seconds "$PRODUCTS_SEARCH_SECONDS" --connections "$PRODUCTS_SEARCH_CONNECTIONS"
  # The same without the cache (the server restarted with CATALOG_CACHE_MS=0), against its
  # limit: the server's own statements for the same keywords in pgbench.
  stop_server
  extra_env=(CATALOG_CACHE_MS=0)
  start_server "$server_port" "$smtp_port"
  wait_ready "$url"
  cluster_phase products-search-uncached "catalogue search without the cache, $PRODUCTS_SEARCH_CONNECTIONS connections, ${PRODUCTS_SEARCH_SECONDS} s" \
    products-search --url "$url" --smtp-port "$smtp_port" \
    --seconds "$PRODUCTS_SEARCH_SECONDS" --connections "$PRODUCTS_SEARCH_CONNECTIONS"
  phase "the same searches in pgbench -M prepared, $PRODUCTS_SEARCH_CONNECTIONS clients, ${PRODUCTS_SEARCH_SECONDS} s" \
    products-search-sql --url "$url" --smtp-port "$smtp_port" --server target/release/server \
    --database-url "$db_url" --seconds "$PRODUCTS_SEARCH_SECONDS" \
    --connections "$PRODUCTS_SEARCH_CONNECTIONS"
  stop_server
  extra_env=()
  start_server "$server_port" "$smtp_port"
  wait_ready "$url"
fi
if wanted place-order; then
  seed_order_products
  # First the limit it is judged against: the server's own statements for an order (`server
  # statements`) in pgbench, with the server stopped meanwhile, at the same concurrency and at
  # the pool's size. (First: the app's run leaves thousands of confirmations in the outbox, and
  # this run's sign-ups would wait behind them for their activation emails.)
  phase "the same orders in pgbench -M prepared, $ORDER_CONNECTIONS clients, ${ORDER_SECONDS} s" \
    place-order-sql --url "$url" --smtp-port "$smtp_port" --users "$ORDER_USERS" \
    --server target/release/server --database-url "$db_url" --pause "$server_pid" \
    --seconds "$ORDER_SECONDS" --connections "$ORDER_CONNECTIONS"
  cluster_phase place-order-sql-pool "the same orders in pgbench at the pool's size, $POOL_SIZE clients, ${ORDER_SECONDS} s" \
    place-order-sql --url "$url" --smtp-port "$smtp_port" --users "$ORDER_USERS" \
    --server target/release/server --database-url "$db_url" --pause "$server_pid" \
    --seconds "$ORDER_SECONDS" --connections "$POOL_SIZE"
  phase "orders of 3 of $ORDER_PRODUCTS products by $ORDER_USERS people, $ORDER_CONNECTIONS connections, ${ORDER_SECONDS} s" \
    place-order --url "$url" --smtp-port "$smtp_port" --users "$ORDER_USERS" \
    --seconds "$ORDER_SECONDS" --connections "$ORDER_CONNECTIONS"
fi
if wanted flood; then
  phase "flood: $FLOOD_BIG registrations with $((FLOOD_PASSWORD_BYTES / 1024)) KiB passwords and $FLOOD_VALID valid ones at once" \
    flood --url "$url" --smtp-port "$smtp_port" --pid "$server_pid" \
    --big "$FLOOD_BIG" --valid "$FLOOD_VALID" --password-bytes "$FLOOD_PASSWORD_BYTES"
fi

# Last, on a server restarted with webhooks on (the other runs measure it without them).
if wanted webhooks; then
  stop_server
  hook_port=$(free_port_except "$server_port")
  while [ "$hook_port" = "$smtp_port" ]; do hook_port=$(free_port_except "$server_port"); done
  extra_env=(
    WEBHOOK_URLS="http://127.0.0.1:$hook_port/hooks"
    WEBHOOK_SECRET="whsec_$(head -c 32 /dev/urandom | base64)"
  )
  start_server "$server_port" "$smtp_port"
  wait_ready "$url"
  phase "webhooks: registration at $WEBHOOK_RATE/s, ${WEBHOOK_SECONDS} s, commit → receiver" \
    webhooks --url "$url" --smtp-port "$smtp_port" --hook-port "$hook_port" \
    --seconds "$WEBHOOK_SECONDS" --rate "$WEBHOOK_RATE"
fi

# Last: the same two measurements through nginx with one app server behind it, then two (the
# server above stopped, so that only the cluster's processes share the cores).
if wanted cluster; then
  stop_server
  nginx_port=$(free_port_except "$server_port")
  nginx_http_port=$(free_port_except "$nginx_port")
  replica_1=$(free_port_except "$nginx_port")
  replica_2=$(free_port_except "$nginx_port")
  while [ "$replica_2" = "$replica_1" ]; do replica_2=$(free_port_except "$nginx_port"); done
  start_replica 1 "$replica_1" "$nginx_port"
  for n in 1 2; do
    if [ "$n" = 2 ]; then
      start_replica 2 "$replica_2" "$nginx_port"
      stop_nginx
      start_nginx "$nginx_port" "$nginx_http_port" "127.0.0.1:$replica_1" "127.0.0.1:$replica_2"
    else
      start_nginx "$nginx_port" "$nginx_http_port" "127.0.0.1:$replica_1"
    fi
    edge="https://127.0.0.1:$nginx_port"
    cluster_phase "cluster-register-$n" \
      "cluster: registration through nginx, $n replica(s), $CLUSTER_REGISTER_CONNECTIONS connections, ${CLUSTER_SECONDS} s" \
      register --url "$edge" --smtp-port "$smtp_port" \
      --seconds "$CLUSTER_SECONDS" --connections "$CLUSTER_REGISTER_CONNECTIONS"
    cluster_phase "cluster-profile-$n" \
      "cluster: profile through nginx, $n replica(s), $CLUSTER_PROFILE_CONNECTIONS connections, ${CLUSTER_SECONDS} s" \
      profile --url "$edge" --smtp-port "$smtp_port" \
      --seconds "$CLUSTER_SECONDS" --connections "$CLUSTER_PROFILE_CONNECTIONS"
  done
  stop_cluster
fi

stop_server # now, so that the summary is the last thing printed
status=0
summary || status=$?
exit "$status"

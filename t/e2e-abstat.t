#!/usr/bin/perl
# End to end: nginx with the module in front of a scripted storefront,
# simulated visitors (buyers, duplicate orders, refunds, purchases before
# exposure, bots, QA-forced testers), then abstat on the very log nginx
# wrote. Every count abstat prints is checked exactly against what the
# test sent, using the variant each visitor was shown.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use ABNginx qw(http_request);

my $t = ABNginx->new->require_module;
my $abstat = "$ABNginx::REPO/build/abstat";
plan(skip_all => "$abstat not built (run make)") unless -x $abstat;

$t->write_config(<<'EOF', access_log => 0)->start;
include %%REPO%%/conf-examples/log-format.conf;
include %%REPO%%/conf-examples/bots.conf;

ab_force       $http_x_force;
ab_force_allow $http_x_qa;

ab_experiment checkout {
    salt     e2e-checkout;
    variant  control 50%;
    variant  upsell  50%;
}

server {
    listen 127.0.0.1:%%PORT%%;
    access_log %%DIR%%/access.log ab_json;

    location = /checkout { ab checkout; return 200 "$ab_checkout"; }
    location / { proxy_pass http://127.0.0.1:%%PORT_1%%; }
}

# the storefront: reports orders and refunds in X-AB-Event
server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;

    location = /buy {
        add_header X-AB-Event
            "purchase; order=$arg_order; revenue=$arg_revenue; currency=EUR"
            always;
        return 200 "thanks";
    }
    location = /refund {
        add_header X-AB-Event "refund; order=$arg_order; revenue=$arg_revenue"
            always;
        return 200 "refunded";
    }
    location / { return 200 "page"; }
}
EOF

my $browser = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0';
srand(20261123);

# one request; returns (response, cookie now held)
sub visit {
    my ($uri, $cookie, @h) = @_;
    my @headers = ("User-Agent: " . (shift(@h) // $browser), @h);
    push @headers, "Cookie: $cookie" if $cookie;
    my $r = $t->get($uri, @headers);
    die "$uri: status $r->{status}\n" unless $r->{status} == 200;
    my ($sc) = ABNginx::header_values($r, 'Set-Cookie');
    $cookie = $1 if defined $sc && $sc =~ /^(abid=[^;]+)/;
    return ($r, $cookie);
}

my (%want, $dups, $before, $orders_seen);
my $order_no = 0;
$want{$_} = { visitors => 0, converters => 0, orders => 0, cents => 0 }
    for qw(control upsell);

# buyers, browsers, duplicate orders and refunds
for my $v (1 .. 300) {
    my ($r, $cookie) = visit('/checkout');
    my $variant = $r->{body};
    my $w = $want{$variant} or die "unexpected variant $variant";
    $w->{visitors}++;
    my @mine;
    my $n = rand() < 0.4 ? (rand() < 0.3 ? 2 : 1) : 0;
    for (1 .. $n) {
        my $id = 'E2E-' . ++$order_no;
        my $cents = 100 + int rand 20000;
        visit(sprintf('/buy?order=%s&revenue=%d.%02d', $id, $cents / 100,
            $cents % 100), $cookie);
        push @mine, [$id, $cents];
        $w->{orders}++;
        $w->{cents} += $cents;
    }
    $w->{converters}++ if @mine;
    if (@mine && rand() < 0.2) {            # the storefront said it twice
        my ($id, $cents) = @{$mine[0]};
        visit(sprintf('/buy?order=%s&revenue=%d.%02d', $id, $cents / 100,
            $cents % 100), $cookie);
        $dups++;
    }
    if (@mine && rand() < 0.15) {           # a partial refund
        my ($id, $cents) = @{$mine[-1]};
        my $back = int($cents / 3);
        visit(sprintf('/refund?order=%s&revenue=%d.%02d', $id, $back / 100,
            $back % 100), $cookie);
        $w->{cents} -= $back;
    }
    visit('/page', $cookie) for 1 .. int rand 3;
}

# a purchase before the visitor's first exposure: ignored, counted
for my $v (1 .. 20) {
    my ($r, $cookie) = visit('/page');
    ($r, $cookie) = visit('/buy?order=EARLY-' . $v . '&revenue=50.00', $cookie);
    ok($cookie, "early buyer $v got an id on the purchase") if $v == 1;
    sleep 0.003;                            # a later millisecond for $msec
    ($r, $cookie) = visit('/checkout', $cookie);
    $want{$r->{body}}{visitors}++;
    $before++;
}

# bots and QA testers: never in the analysis, whatever they buy
for my $v (1 .. 10) {
    my ($r, $cookie) = visit('/checkout', undef, 'Googlebot/2.1');
    is($cookie, undef, 'a bot gets no id') if $v == 1;
    visit("/buy?order=BOT-$v&revenue=10.00", $cookie, 'Googlebot/2.1');

    ($r, $cookie) = visit('/checkout', undef, $browser, 'X-QA: 1',
        'X-Force: checkout:upsell');
    is($r->{body}, 'upsell', 'a tester sees the forced variant') if $v == 1;
    visit("/buy?order=QA-$v&revenue=10.00", $cookie);
}

# a refund of an order nobody made
visit('/refund?order=NO-SUCH-ORDER&revenue=5.00');

$t->stop_and_check;

my $log = $t->dir . '/access.log';
my $json = `$abstat report --format json --quiet $log`;
is($?, 0, 'abstat exits 0');
my $rep = eval { decode_json($json) } or BAIL_OUT("abstat JSON: $@");

is($rep->{input}{bad_lines}, 0, 'no bad lines in the module\'s log');
is($rep->{input}{duplicate_orders}, $dups, "duplicate orders: $dups");
is($rep->{input}{events_before_exposure}, $before,
    "events before exposure: $before");
is($rep->{input}{orphan_refunds}, 1, 'one orphan refund');

my ($exp) = grep { $_->{name} eq 'checkout' } @{$rep->{experiments}};
ok($exp, 'experiment reported') or BAIL_OUT('no experiment');
is(scalar @{$rep->{experiments}}, 1, 'only the one experiment');
is($exp->{baseline}, 'control', 'baseline');

for my $var (@{$exp->{variants}}) {
    my $w = $want{$var->{name}};
    my $n = $var->{name};
    is($var->{visitors}, $w->{visitors}, "$n: visitors");
    is($var->{multi_variant}, 0, "$n: no multi-variant visitor");
    is($var->{orders}, $w->{orders}, "$n: orders");
    is($var->{converters}, $w->{converters}, "$n: converters");
    ok(abs($var->{revenue} - $w->{cents} / 100) < 1e-6,
        "$n: revenue $var->{revenue} = " . $w->{cents} / 100);
}

my ($rpv) = grep { $_->{metric} eq 'revenue_per_visitor'
    && $_->{variant} eq 'upsell' } @{$exp->{metrics}};
ok(abs($rpv->{value} - $want{upsell}{cents} / 100 / $want{upsell}{visitors})
    < 1e-9, 'revenue per visitor of upsell');
ok(abs($rpv->{baseline_value}
    - $want{control}{cents} / 100 / $want{control}{visitors}) < 1e-9,
    'revenue per visitor of control');

done_testing;

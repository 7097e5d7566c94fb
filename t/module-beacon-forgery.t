#!/usr/bin/perl
# Issue 12, "Forged purchases through the beacon", "Clients can take over
# the live counters" (event slots) and "Events on an intercepted error
# page": the beacon refuses purchase and refund whatever else it allows
# (400 with the reason, nothing logged); `ab_beacon events=...` accepts
# only the names it lists; junk names a client sends to a beacon without
# a list are logged but never take a live event slot, so a storefront
# purchase keeps its own slot; events of an upstream response that nginx
# replaced (proxy_intercept_errors + error_page, with or without keeping
# the status) are never logged nor counted. SECURITY.md, "The client".

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use ABNginx;
use ABLog qw(full_log log_ok);

my $t = ABNginx->new->require_module;

$t->write_config(full_log() . <<'EOF', access_log => 0)->start;
ab_zone ab_live 1m;
ab_experiment e { variant a 50%; variant b 50%; }

server {
    listen 127.0.0.1:%%PORT%%;
    location = /ab/event  { ab_beacon; }
    location = /ab/funnel { ab_beacon events=add_to_cart,view_item; }
    location = /ab/status { ab_status; access_log off; }

    location /shop/ { ab e; proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /kept/ {
        ab e;
        proxy_pass http://127.0.0.1:%%PORT_1%%/boom404/;
        proxy_intercept_errors on;
        error_page 404 /sorry404;
    }
    location /same/ {
        ab e;
        proxy_pass http://127.0.0.1:%%PORT_1%%/boom500/;
        proxy_intercept_errors on;
        error_page 500 =500 @sorry500;
    }
    location /changed/ {
        ab e;
        proxy_pass http://127.0.0.1:%%PORT_1%%/boom500/;
        proxy_intercept_errors on;
        error_page 500 =200 /sorry200;
    }
    location /passed/ {
        ab e;
        proxy_pass http://127.0.0.1:%%PORT_1%%/boom404/;
    }
    location = /sorry404 { return 404 "our own 404 page"; }
    location = /sorry200 { return 200 "our own page"; }
    location @sorry500   { return 500 "our own 500 page"; }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;
    location /shop/buy {
        add_header X-AB-Event "purchase; order=S-1; revenue=10.00" always;
        return 200 "bought";
    }
    location /boom404/ {
        add_header X-AB-Event "purchase; order=E-404; revenue=99" always;
        return 404 "upstream 404";
    }
    location /boom500/ {
        add_header X-AB-Event "purchase; order=E-500; revenue=99" always;
        return 500 "upstream 500";
    }
}
EOF

my $json = JSON::PP->new;
my $requests = 0;    # logged ones, to wait for the access log

sub request {
    my ($uri, $uid) = @_;
    $requests++;
    return $t->get($uri, "Cookie: abid=$uid");
}

# slot name => count, summed over the variants; and events_other
sub slots {
    my $res = $t->get("/ab/status");
    my $st = eval { $json->decode($res->{body}) } or diag($res->{status}, $res->{body});
    my (%slots, $other);
    for my $v (@{$st->{experiments}[0]{variants}}) {
        $slots{$_} += $v->{events}{$_} for keys %{$v->{events}};
        $other += $v->{events_other};
    }
    return (\%slots, $other);
}

# 1. forged orders
my $uid = 'forger-visitor-000000001';
for my $q ('e=purchase', 'e=refund', 'e=purchase&sku=1', 'e=refund&qty=1') {
    for my $loc ('/ab/event', '/ab/funnel') {
        my $r = request("$loc?$q", $uid);
        is($r->{status}, 400, "$loc?$q: 400");
        like($r->{body}, qr/storefront/,
            "$loc?$q: the reason names the storefront");
    }
}

# 2. events= allows only its names
is(request('/ab/funnel?e=add_to_cart&sku=1', $uid)->{status}, 204,
    'events=: a listed name is accepted');
is(request('/ab/funnel?e=view_item', $uid)->{status}, 204,
    'events=: the other listed name is accepted');
my $r = request('/ab/funnel?e=checkout_start', $uid);
is($r->{status}, 400, 'events=: an unlisted name is refused');
like($r->{body}, qr/events=/, 'events=: the reason says why');
is(request('/ab/event?e=checkout_start', $uid)->{status}, 204,
    'no events=: any name but the order events');

# 3. 16 junk names from each of 5 ids (the issue's attack) take no slot
my $accepted = 0;
for my $i (1 .. 5) {
    my $id = sprintf('junk-visitor-%012d', $i);
    for my $n (1 .. 16) {
        $accepted++ if request("/ab/event?e=junk_${i}_$n", $id)->{status}
            == 204;
    }
}
is($accepted, 80, 'the 80 junk events are accepted for the log');

# the storefront's purchase and a listed beacon name after the junk
my $buyer = 'buyer-visitor-0000000001';
is(request('/shop/buy', $buyer)->{status}, 200, 'a storefront purchase');
request('/ab/funnel?e=add_to_cart', $buyer);

my ($slots, $other) = slots();
is_deeply([grep { /^junk_/ } sort keys %$slots], [],
    'no junk name took a live event slot');
is($slots->{purchase}, 1, 'the storefront purchase has its own slot');
is($slots->{add_to_cart}, 2, 'the listed beacon name has its own slot');
is($slots->{view_item}, 1, 'and so has the other listed name');
ok(!exists $slots->{checkout_start},
    'a name of a beacon without events= takes no slot');
is($other, 80 + 1, 'unlisted client names count in events_other');

# 4. intercepted error pages carry no events
my %page = ('/kept/x' => [404, 'our own 404 page'],
            '/same/x' => [500, 'our own 500 page'],
            '/changed/x' => [200, 'our own page'],
            '/passed/x' => [404, 'upstream 404']);
for my $uri (sort keys %page) {
    my $res = request($uri, $buyer);
    is($res->{status}, $page{$uri}[0], "$uri: status $page{$uri}[0]");
    is($res->{body}, $page{$uri}[1], "$uri: $page{$uri}[1]");
    ok(!grep({ lc $_->[0] eq 'x-ab-event' } @{$res->{headers}}),
        "$uri: the event header does not reach the client");
}

my @log = log_ok($t, 'all requests', count => $requests);
my %events;
push @{$events{$_->{uri}}}, $_->{events} for @log;
for my $q ('e=purchase', 'e=refund') {
    is(join('|', @{$events{"/ab/event?$q"} || ['missing']}), '',
        "/ab/event?$q: nothing logged");
}
is(join('|', @{$events{'/ab/funnel?e=checkout_start'} || ['missing']}), '',
    'an unlisted name: nothing logged');
is($events{'/ab/funnel?e=view_item'}[0], 'view_item;src=client',
    'a listed name is logged as a client event');
is($events{'/ab/event?e=junk_1_1'}[0], 'junk_1_1;src=client',
    'a junk name is logged as a client event');
like($events{'/shop/buy'}[0], qr/^purchase;order=S-1;revenue=10\b/,
    'the storefront purchase is logged');
for my $uri ('/kept/x', '/same/x', '/changed/x') {
    is($events{$uri}[0], '',
        "$uri: the replaced response's purchase is not logged");
}
like($events{'/passed/x'}[0], qr/^purchase;order=E-404/,
    'an error the upstream sent itself keeps its events');

($slots) = slots();
is($slots->{purchase}, 2, 'live counters: the storefront purchase and '
    . 'the passed-through error only');

ABNginx::finish();

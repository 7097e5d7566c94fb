#!/usr/bin/perl
# Events from the storefront: the upstream's X-AB-Event response header
# (README "ab_event_header", docs/log-format.md "Event fields"). Validated
# and normalized into $ab_events, malformed events dropped and counted in
# $ab_events_invalid with a [warn] naming the reason, the header removed
# from the client response; "off" and a custom name; a client-sent header
# logs nothing; a response from proxy_cache is stripped and ignored;
# hostile headers (16 KB, thousands of events, control characters,
# invalid UTF-8, the reserved key src) never give a 5xx and the access log
# stays JSON.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(header_values nginx_str);
use ABLog qw(full_log by_uri log_ok error_mark error_since);

my $t = ABNginx->new->require_module;

my $name32 = 'n' x 32;
my $order64 = 'A' x 64;
my $p16 = join '', map { "; k$_=v" } 1 .. 16;
my $p16out = join '', map { ";k$_=v" } 1 .. 16;

# [ header values sent by the storefront, expected $ab_events, expected
#   number of invalid events, a word the warning's reason must contain ]
my @cases = (
    # docs/log-format.md: the example and the normalization rules
    [['purchase; order=A-1001; revenue=59.90; currency=EUR'],
        'purchase;order=A-1001;revenue=59.9;currency=EUR', 0],
    [['  purchase ;  revenue = 059.900 ; currency = eur  '],
        'purchase;revenue=59.9;currency=EUR', 0],
    [['refund; revenue=-0.00'], 'refund;revenue=0', 0],
    [['refund; revenue=-0'], 'refund;revenue=0', 0],
    [['refund; order=A-1; revenue=-12.50'], 'refund;order=A-1;revenue=-12.5', 0],
    [['purchase; revenue=100.000000'], 'purchase;revenue=100', 0],
    [['purchase; revenue=0.000001'], 'purchase;revenue=0.000001', 0],
    [['purchase; revenue=000'], 'purchase;revenue=0', 0],
    [['purchase; revenue=10'], 'purchase;revenue=10', 0],
    [['purchase; qty=007'], 'purchase;qty=7', 0],
    [['purchase; qty=0'], 'purchase;qty=0', 0],
    [['purchase; currency=eUr'], 'purchase;currency=EUR', 0],
    # parameters keep their order; unknown keys kept when they match
    [['view; sku=AB_12.x; page=2; z=Y:1-2'], 'view;sku=AB_12.x;page=2;z=Y:1-2', 0],
    [['checkout_start'], 'checkout_start', 0],
    [["$name32; $name32=x"], "$name32;$name32=x", 0],
    [["purchase; order=$order64"], "purchase;order=$order64", 0],
    [["e$p16"], "e$p16out", 0],
    # several events: comma-separated, several headers, both
    [['add_to_cart, purchase; revenue=5'], 'add_to_cart,purchase;revenue=5', 0],
    [['add_to_cart', 'purchase; revenue=1.50'],
        'add_to_cart,purchase;revenue=1.5', 0],
    [['a, b', 'c', 'd;qty=2, e'], 'a,b,c,d;qty=2,e', 0],
    # malformed: dropped whole, the others kept
    [['Purchase'], '', 1, 'name'],
    [['add-to-cart'], '', 1, 'name'],
    [['n' x 33], '', 1, 'name'],
    [['a, BAD, b'], 'a,b', 1, 'name'],
    [['purchase; Order=1'], '', 1, 'name'],
    [['purchase; order'], '', 1, '='],
    [['purchase; order=A 1'], '', 1, 'order'],
    [['purchase; order=A/1'], '', 1, 'order'],
    [["purchase; order=${order64}B"], '', 1, 'order'],
    [['purchase; order='], '', 1, 'order'],
    [['purchase; revenue=1.2345678'], '', 1, 'revenue'],
    [['purchase; revenue=1e3'], '', 1, 'revenue'],
    [['purchase; revenue=abc'], '', 1, 'revenue'],
    [['purchase; revenue=+5'], '', 1, 'revenue'],
    [['purchase; revenue='], '', 1, 'revenue'],
    [['purchase; currency=EURO'], '', 1, 'currency'],
    [['purchase; currency=E1R'], '', 1, 'currency'],
    [['purchase; qty=1.5'], '', 1, 'qty'],
    [['purchase; qty=two'], '', 1, 'qty'],
    [['view; sku=a b'], '', 1, 'value'],
    [["e$p16; k17=v"], '', 1, 'param'],
    [['good', 'purchase; revenue=x', 'also_good'], 'good,also_good', 1,
        'revenue'],
    # the reserved key src, from the storefront too
    [['purchase; src=client'], '', 1, 'src|accepted|reserved'],
    [['purchase; revenue=1; src=server', 'ok'], 'ok', 1,
        'src|accepted|reserved'],
    # control characters and bytes that are not UTF-8
    [["purchase; order=A\x01B"], '', 1, 'order'],
    [["\x01purchase"], '', 1, 'name'],
    [["purchase\x7f"], '', 1, 'name'],
    [["purchase; order=\x1b[31mred"], '', 1, 'order'],
    [["purchase; order=\xff\xfe"], '', 1, 'order'],
    [["caf\xc3\xa9"], '', 1, 'name'],
    [["ok, purchase; note=caf\xc3\xa9, \xc3\x28"], 'ok', 2, 'value|name'],
);

# the storefront: one location per case, answering with the headers
my $store = '';
for my $i (0 .. $#cases) {
    my $hdrs = join ' ', map { 'add_header X-AB-Event ' . nginx_str($_)
        . ' always;' } @{$cases[$i][0]};
    $store .= "        location = /u/$i { $hdrs return 200 \"ok\"; }\n";
}

# 16 KB: five copies of 1650 events "a", joined by "," (8250 events)
my $a1650 = join ',', ('a') x 1650;
# one event of 9 KB between two good ones
my $x3000 = 'x' x 3000;
# 100 headers of one event each
my $many = join '', map { sprintf "        add_header X-AB-Event \"m%03d\" always;\n",
    $_ } 1 .. 100;

$t->write_config(full_log() . <<"EOF", access_log => 0)->start;
ab_experiment e { variant a 50%; variant b 50%; }

proxy_cache_path %%DIR%%/cache levels=1 keys_zone=evcache:1m;

server {
    listen 127.0.0.1:%%PORT%%;
    proxy_buffer_size 64k;
    proxy_buffers 8 64k;
    proxy_busy_buffers_size 128k;

    location /u/ { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /big { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /long { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /many { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /lower { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /plain { proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location /local { add_header X-AB-Event "purchase; revenue=1" always;
                      return 200 "local"; }
    location /off/ {
        ab_event_header off;
        proxy_pass http://127.0.0.1:%%PORT_1%%/u/;
    }
    location /custom/ {
        ab_event_header X-Shop-Event;
        proxy_pass http://127.0.0.1:%%PORT_1%%/shop/;
    }
    location /cached {
        proxy_cache evcache;
        proxy_cache_valid 200 10m;
        proxy_ignore_headers Set-Cookie Cache-Control Expires;
        add_header X-Cache-Status \$upstream_cache_status always;
        proxy_pass http://127.0.0.1:%%PORT_1%%;
    }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;
$store
    location = /shop/x {
        add_header X-Shop-Event "purchase; revenue=2.50; currency=usd" always;
        add_header X-AB-Event "other" always;
        return 200 "ok";
    }
    location = /big {
        set \$k "$a1650";
        add_header X-AB-Event "\$k,\$k,\$k,\$k,\$k" always;
        return 200 "big";
    }
    location = /long {
        set \$x "$x3000";
        add_header X-AB-Event "ok1, purchase; note=\$x\$x\$x, ok2" always;
        return 200 "long";
    }
    location = /many {
$many        return 200 "many";
    }
    location = /lower {
        add_header x-ab-event "lower_case_header" always;
        return 200 "lower";
    }
    location = /plain { return 200 "plain"; }
    location = /cached {
        add_header X-AB-Event "purchase; order=C-1; revenue=9.99" always;
        return 200 "cached page";
    }
}
EOF

my $warn_re = qr/^.*\[warn\].*$/m;

# every case: the response, its log line and the warning
for my $i (0 .. $#cases) {
    my ($hdrs, $events, $invalid, $reason) = @{$cases[$i]};
    my $name = "case $i (" . join(' | ', @$hdrs) . ')';
    $name =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    $name = substr($name, 0, 100) if length $name > 100;

    error_mark($t);
    my $r = $t->get("/u/$i");
    is($r->{status}, 200, "$name: 200");
    is(scalar(header_values($r, 'x-ab-event')), 0,
        "$name: header removed from the response");

    my @w = error_since($t) =~ /$warn_re/g;
    if ($invalid) {
        is(scalar @w, 1, "$name: one [warn] line") or diag(@w);
        like($w[0] // '', qr/$reason/i, "$name: the warning gives the reason");
    } else {
        is(scalar @w, 0, "$name: no warning") or diag(@w);
    }
    $cases[$i][4] = $name;
}

# a client's own X-AB-Event is not an event, through a proxy or not
my $r = $t->get('/plain', 'X-AB-Event: purchase; revenue=9999');
is($r->{status}, 200, 'client-sent header: 200');
$r = $t->get('/u/0?client', 'X-AB-Event: purchase; revenue=9999');
is($r->{status}, 200, 'client-sent header next to a storefront event: 200');

# only upstream responses: a header the edge adds itself is not read
$r = $t->get('/local');

# ab_event_header off leaves the header alone
$r = $t->get('/off/0');
is_deeply([header_values($r, 'x-ab-event')],
    ['purchase; order=A-1001; revenue=59.90; currency=EUR'],
    'ab_event_header off: the header reaches the client as sent');
my ($two) = grep { @{$cases[$_][0]} == 2 && $cases[$_][0][0] eq 'add_to_cart' }
    0 .. $#cases;
$r = $t->get("/off/$two");
is_deeply([header_values($r, 'x-ab-event')],
    ['add_to_cart', 'purchase; revenue=1.50'],
    'ab_event_header off: both headers reach the client');

# header names are case-insensitive
$r = $t->get('/lower');
is(scalar(header_values($r, 'x-ab-event')), 0,
    'x-ab-event in lower case: removed');

# a custom name: that header is read and removed, X-AB-Event is not ours
$r = $t->get('/custom/x');
is(scalar(header_values($r, 'x-shop-event')), 0,
    'custom header: removed from the response');
is_deeply([header_values($r, 'x-ab-event')], ['other'],
    'custom header: X-AB-Event left alone');

# hostile headers: no 5xx, the header removed, one short warning
for my $h (['/big', '16 KB header of 8250 events', 'big'],
    ['/long', 'one 9 KB event', 'long'], ['/many', '100 event headers', 'many'])
{
    my ($uri, $what, $body) = @$h;
    error_mark($t);
    $r = $t->get($uri);
    is($r->{status}, 200, "$what: 200");
    is($r->{body}, $body, "$what: the body");
    is(scalar(header_values($r, 'x-ab-event')), 0, "$what: removed");
    my @w = error_since($t) =~ /$warn_re/g;
    is(scalar @w, 1, "$what: one [warn] line");
    ok(length($w[0] // '') < 2048, "$what: the warning is short")
        or diag(length $w[0]);
}

# the cache: a MISS records the event, a HIT strips it and records nothing
my $c1 = $t->get('/cached?1');
my $c2 = $t->get('/cached?1');
is(join(',', header_values($c1, 'x-cache-status')), 'MISS', 'cache: MISS');
is(join(',', header_values($c2, 'x-cache-status')), 'HIT', 'cache: HIT');
is(scalar(header_values($c1, 'x-ab-event')), 0, 'cache MISS: header removed');
is(scalar(header_values($c2, 'x-ab-event')), 0, 'cache HIT: header removed');
is($c2->{body}, 'cached page', 'cache HIT: the page');

# the log: one JSON line per request
my $n_req = @cases + 12;
my @lines = log_ok($t, 'every event case', count => $n_req);
is(scalar @lines, $n_req, 'one log line per request');
my %log = by_uri(@lines);

for my $i (0 .. $#cases) {
    my ($hdrs, $events, $invalid, undef, $name) = @{$cases[$i]};
    my $l = $log{"/u/$i"} || {};
    is($l->{events}, $events, "$name: events");
    is($l->{events_invalid}, $invalid ? "$invalid" : '',
        "$name: events_invalid");
    is($l->{status}, '200', "$name: logged status");
}

is($log{'/plain'}{events}, '', 'client-sent header: no event');
is($log{'/plain'}{events_invalid}, '', 'client-sent header: nothing invalid');
is($log{'/u/0?client'}{events},
    'purchase;order=A-1001;revenue=59.9;currency=EUR',
    'client-sent header: only the storefront event');
is($log{'/lower'}{events}, 'lower_case_header',
    'x-ab-event in lower case: the event');
is($log{'/local'}{events}, '', 'header added by the edge itself: no event');
is($log{'/off/0'}{events}, '', 'ab_event_header off: no event');
is($log{"/off/$two"}{events}, '', 'ab_event_header off: no events');
is($log{'/custom/x'}{events}, 'purchase;revenue=2.5;currency=USD',
    'custom header: the event');
is($log{'/big'}{events}, join(',', ('a') x 64), '16 KB header: 64 events kept');
is($log{'/big'}{events_invalid}, 8250 - 64,
    '16 KB header: the rest counted invalid');
is($log{'/big'}{status}, '200', '16 KB header: logged 200');
is($log{'/long'}{events}, 'ok1,ok2', '9 KB event: the others kept');
is($log{'/long'}{events_invalid}, '1', '9 KB event: counted invalid');
is($log{'/many'}{events}, join(',', map { sprintf 'm%03d', $_ } 1 .. 64),
    '100 event headers: the first 64 kept, in order');
is($log{'/many'}{events_invalid}, '36', '100 event headers: 36 invalid');

my @cached = grep { $_->{uri} eq '/cached?1' } @lines;
is(scalar @cached, 2, 'cache: two log lines');
is($cached[0]{events}, 'purchase;order=C-1;revenue=9.99',
    'cache MISS: the event');
is($cached[1]{events}, '', 'cache HIT: no event replayed');
is($cached[1]{events_invalid}, '', 'cache HIT: nothing invalid');

# no raw text of a dropped event anywhere in the logged events
for my $l (@lines) {
    next unless length $l->{events};
    unlike($l->{events}, qr/[^a-z0-9_;=A-Za-z.:\-,]/,
        "only grammar characters in events of $l->{uri}");
}

ABNginx::finish();

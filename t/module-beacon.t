#!/usr/bin/perl
# The browser beacon (README "ab_beacon"): GET or POST
# /ab/event?e=NAME[&key=value] answers 204 with Cache-Control: no-store
# and logs "NAME;key=value;src=client"; order and revenue are refused
# (400, plain-text reason), as is anything malformed (no e, two e, bad
# names, encoded "," or ";", the reserved key src); other methods 405; a
# visitor without a cookie gets one minted on the 204.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(http_request set_cookies header_values);
use ABLog qw(full_log log_ok by_uri);

my $t = ABNginx->new->require_module;

$t->write_config(full_log() . <<'EOF', access_log => 0)->start;
ab_experiment e { variant a 50%; variant b 50%; }

server {
    listen 127.0.0.1:%%PORT%%;
    location = /ab/event { ab_beacon; }
}
EOF

my $UID = 'beacon-visitor-0000000001';
my $COOKIE = "Cookie: abid=$UID";

# [ query, expected events ] (a returning visitor)
my @ok = (
    ['e=add_to_cart&sku=1', 'add_to_cart;sku=1;src=client'],
    ['e=checkout_start', 'checkout_start;src=client'],
    ['sku=AB-12&e=add_to_cart', 'add_to_cart;sku=AB-12;src=client'],
    ['e=add%5Fto%5Fcart&sku=A%2D1', 'add_to_cart;sku=A-1;src=client'],
    ['e=add_to_cart&qty=003&currency=eur',
        'add_to_cart;qty=3;currency=EUR;src=client'],
    ['e=view&page=2&list=home', 'view;page=2;list=home;src=client'],
    # at most 16 parameters (README)
    ['e=p16&' . join('&', map { "k$_=v" } 1 .. 16),
        'p16;' . join(';', map { "k$_=v" } 1 .. 16) . ';src=client'],
);

# [ query, a word the 400 body must contain ]
my @bad = (
    ['e=purchase&order=A-1', 'revenue|order'],
    ['e=purchase&revenue=59.90', 'revenue|order'],
    ['e=purchase&revenue=1&currency=EUR', 'revenue|order'],
    ['sku=1', '"e"|event'],
    ['', '"e"|event'],
    ['e=', ''],
    ['e=a&e=b', '"e"|twice|more than one|several'],
    ['e=Add_To_Cart', ''],
    ['e=add-to-cart', ''],
    ['e=' . ('n' x 33), ''],
    ['e=add_to_cart%2Cpurchase', ''],
    ['e=add_to_cart%3Brevenue%3D9', ''],
    ['e=add_to_cart&sku=1%2C2', ''],
    ['e=add_to_cart&sku=a%3Bb', ''],
    ['e=add_to_cart%3Bsrc%3Dserver', ''],
    ['e=add_to_cart&src=server', ''],
    ['e=add_to_cart&sku=a%20b', ''],
    ['e=add_to_cart&sku=', ''],
    ['e=add_to_cart&Sku=1', ''],
    ['e=add_to_cart&qty=1.5', ''],
    ['e=add_to_cart&x%00=1', ''],
    ['e=caf%C3%A9', ''],
    ['e=add_to_cart&note=%FF%FE', ''],
    ['e=add_to_cart&sku=%0D%0AX-Evil:%201', ''],
    ['e=p17&' . join('&', map { "k$_=v" } 1 .. 17), ''],
);

for my $c (@ok) {
    my ($q, $events) = @$c;
    for my $m ('GET', 'POST') {
        my $r = $m eq 'GET' ? $t->get("/ab/event?$q", $COOKIE)
            : $t->post("/ab/event?$q", 'hello=world', $COOKIE,
                'Content-Type: text/plain');
        is($r->{status}, 204, "$m ?$q: 204");
        is(join(',', header_values($r, 'cache-control')), 'no-store',
            "$m ?$q: Cache-Control: no-store");
        is($r->{body}, '', "$m ?$q: no body");
        is(scalar(set_cookies($r)), 0, "$m ?$q: returning visitor, no cookie");
    }
}

for my $c (@bad) {
    my ($q, $word) = @$c;
    my $r = $t->get("/ab/event?$q", $COOKIE);
    (my $name = "?$q") =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    is($r->{status}, 400, "$name: 400");
    like(join(',', header_values($r, 'content-type')), qr{^text/plain},
        "$name: plain-text reason");
    ok(length $r->{body} > 5, "$name: the body says why")
        or diag($r->{body});
    like($r->{body}, qr/$word/i, "$name: the reason names it")
        if length $word;
    is(join(',', header_values($r, 'cache-control')), 'no-store',
        "$name: Cache-Control: no-store");
}

# a large POST body is discarded; the connection goes on (the raw client:
# the second request must travel on the same connection)
{
    my $body = 'x' x 100_000;
    my $res = $t->pipeline([http_request('POST /ab/event?e=scroll&depth=90',
        $COOKIE, 'Content-Length: ' . length $body) . $body,
        http_request('/ab/event?e=scroll&depth=100', $COOKIE)]);
    is($res->[0]{status}, 204, 'POST with a 100 KB body: 204');
    is($res->[1]{status}, 204, 'the next request on that connection: 204');
}

# other methods
for my $m (qw(PUT DELETE PATCH)) {
    my $r = $t->raw(http_request("$m /ab/event?e=add_to_cart", $COOKIE,
        'Content-Length: 0'));
    is($r->{status}, 405, "$m: 405");
}

# a new visitor: the 204 mints the id
my $r = $t->get('/ab/event?e=add_to_cart&sku=9');
is($r->{status}, 204, 'new visitor: 204');
my @sc = set_cookies($r);
is(scalar @sc, 1, 'new visitor: one abid cookie');
my $minted = @sc ? $sc[0]{value} : '';
like($minted, qr/^[0-9a-f]{32}$/, 'new visitor: a minted id');

my $n = 2 * @ok + 2 + @bad + 3 + 1;
my @lines = log_ok($t, 'beacon', count => $n);
is(scalar @lines, $n, 'one log line per request');

my @ev = grep { $_->{status} eq '204' } @lines;
my @want = ((map { ($_->[1]) x 2 } @ok), 'scroll;depth=90;src=client',
    'scroll;depth=100;src=client', 'add_to_cart;sku=9;src=client');
is_deeply([map { $_->{events} } @ev], \@want, '204: the events, in order');
is_deeply([map { $_->{method} } @ev[0 .. 2 * $#ok + 1]],
    [('GET', 'POST') x @ok], '204: GET and POST');
is_deeply([grep { $_->{uid} ne $UID } @ev[0 .. 2 * $#ok + 1]], [],
    '204: the returning visitor\'s uid');
is($ev[-1]{uid}, $minted, 'new visitor: the log has the minted id');
is($ev[-1]{uid_new}, '1', 'new visitor: uid_new');

is_deeply([map { "$_->{uri}=$_->{events}$_->{events_invalid}" }
    grep { $_->{status} ne '204' } @lines],
    [map { "$_->{uri}=" } grep { $_->{status} ne '204' } @lines],
    'refused requests log no event');

ABNginx::finish();

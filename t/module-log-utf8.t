#!/usr/bin/perl
# The shipped ab_json format (conf-examples/log-format.conf) writes lines a
# strict JSON reader accepts whatever a client sends: $ab_uri and $ab_ua
# replace bytes that are not UTF-8 with U+FFFD, escape=json does the rest.
# Each line is decoded as UTF-8 JSON, without leniency.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Encode qw(decode FB_CROAK);
use ABNginx qw(http_request);

my $t = ABNginx->new->require_module;
$t->write_config(<<'EOF', access_log => 0)->start;
include %%REPO%%/conf-examples/log-format.conf;
ab_experiment e { variant a 1; variant b 1; }
server {
    listen 127.0.0.1:%%PORT%%;
    access_log %%DIR%%/access.log ab_json;
    location / { ab e; return 200 "ok"; }
}
EOF

# [ request target, User-Agent, expected uri, expected ua ] (as Perl
# character strings after decoding)
my $fffd = "\x{fffd}";
my @cases = (
    ['/plain', 'Mozilla/5.0', '/plain', 'Mozilla/5.0'],
    ["/caf\xc3\xa9?q=\xe2\x82\xac", "UA caf\xc3\xa9 \xf0\x9f\x98\x80",
        "/caf\x{e9}?q=\x{20ac}", "UA caf\x{e9} \x{1f600}"],
    ["/x\xff\xfe", "bad \xc0\xaf ua", "/x$fffd$fffd", "bad $fffd$fffd ua"],
    ["/s\xed\xa0\x80", "cut \xe2\x82", "/s$fffd$fffd$fffd", "cut $fffd$fffd"],
    ['/q"uo\\te', "tab\there \"quoted\" back\\slash",
        '/q"uo\\te', "tab\there \"quoted\" back\\slash"],
    ["/big\xf4\x90\x80\x80", "\x7f\xff", "/big$fffd$fffd$fffd$fffd",
        "\x7f$fffd"],
);

my $strict = JSON::PP->new;      # character input: decode UTF-8 first
for my $c (@cases) {
    my ($target, $ua, $want_uri, $want_ua) = @$c;
    # raw: HTTP::Tiny sends printable ASCII only, and these bytes are the test
    my $r = $t->raw(http_request($target, "User-Agent: $ua"));
    is($r->{status}, 200, "request accepted: " . quotemeta($target));
}

# nginx writes a line after the response: wait for the last one
$t->wait_log(scalar @cases);
my @lines = $t->log_lines;
is(scalar @lines, scalar @cases, 'one line per request');
for my $i (0 .. $#lines) {
    my ($target, $ua, $want_uri, $want_ua) = @{$cases[$i]};
    my $text = eval { decode('UTF-8', $lines[$i], FB_CROAK) };
    ok(defined $text, "line $i is valid UTF-8") or next;
    my $j = eval { $strict->decode($text) };
    ok($j, "line $i is strict JSON") or diag($@);
    is($j->{uri}, $want_uri, "line $i: uri");
    is($j->{ua}, $want_ua, "line $i: ua");
    like($j->{exposures}, qr/^e:[ab]$/, "line $i: exposure");
}

$t->finish;

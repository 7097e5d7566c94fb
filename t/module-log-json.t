#!/usr/bin/perl
# The ab_json access log stays valid JSON whatever the client sends:
# quotes, backslashes, control characters and invalid UTF-8 in the
# User-Agent and the URI, broken request lines, hostile cookies. Every
# line parses, has every field as a string, and gives back the bytes sent.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ABNginx qw(http_request set_cookies);

my $t = ABNginx->new->require_module;

$t->write_config(<<'EOF')->start;
ab_experiment e { variant a 50%; variant b 50%; }
server {
    listen 127.0.0.1:%%PORT%%;
    location / { ab e; return 200 "$ab_uid|$ab_e"; }
    location /plain { return 200 "plain"; }
}
EOF

my @uas = (
    'quote " inside',
    '""',
    'back\\slash \\\\ double',
    'both \\" and "\\',
    "control \x01\x02\x03\x08\x0b\x0c\x0e\x1b\x1f end",
    "tab\there",
    "DEL \x7f",
    "invalid UTF-8 \xff\xfe \xc3\x28 \xe2\x82 \xed\xa0\x80 \xc0\xaf",
    "lone continuation \x80\xbf",
    "valid UTF-8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    '{"ua":"fake","uid":"x"}',
    '"},"uid":"forged","x":{"',
    '\\u0000 and \\n as text',
    '</script><script>alert(1)</script>',
    'x' x 4000,
    ' ',
);
my @uris = (
    '/q?a="b"',
    '/back\\slash',
    '/json?x={"a":"b"}&y=\\"',
    "/bytes/\xff\xfe/\xc3\x28",
    '/pct/%22%5C%0A%ff',
    '/"},"uid":"forged',
    '/plain?"\\',
);
# nginx itself may refuse these (400): the line must still be JSON
my @uris_maybe = ('/pct0/%00', "/ctl?\x01\x1f", "/del/\x7f");

my @cases;     # [request bytes, ua or undef, uri or undef, maybe refused]
push @cases, [http_request("/ua/$_", "User-Agent: $uas[$_]"), $uas[$_], "/ua/$_"]
    for 0 .. $#uas;
push @cases, [http_request($_), '', $_] for @uris;
push @cases, [http_request($_), '', $_, 'maybe'] for @uris_maybe;
push @cases,
    [http_request('/both/"\\', "User-Agent: \"\\\x01\xff"), "\"\\\x01\xff", '/both/"\\'],
    [http_request('/cookie', 'Cookie: abid="},"uid":"forged","x":"'), '', '/cookie'],
    [http_request('/cookie2', "Cookie: abid=\\\"\x01\xff"), '', '/cookie2'],
    [http_request('/nul', "User-Agent: a\x00b"), undef, undef],
    [http_request("/nul\x00uri"), undef, undef],
    ["GET /http10\"\\ HTTP/1.0\r\nUser-Agent: old\"\r\n\r\n", 'old"', '/http10"\\'],
    ["BR\"OKEN / HTTP/1.1\r\nHost: x\r\n\r\n", undef, undef],
    ["GET /sp ace HTTP/1.1\r\nHost: x\r\n\r\n", undef, undef],
    ["\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", undef, undef],
    ["GET /\xff\x01\" HTTP/1.1\r\nHost: \xff\"\r\nUser-Agent: \"\r\n\r\n", undef, undef],
    ["\r\n\r\n", undef, undef];

my $latin1 = JSON::PP->new->utf8(0);
my $strict = JSON::PP->new->utf8(1);
my $is_utf8 = sub { my $s = shift; utf8::decode(my $c = $s) };

for my $i (0 .. $#cases) {
    my ($req, $ua, $uri, $maybe) = @{$cases[$i]};
    (my $name = substr($req, 0, 40)) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    $name = "request $i ($name)";
    $t->mark_log;
    my $r = $t->raw($req);
    my @lines = $t->new_log_lines(1);
    is(scalar @lines, 1, "$name: one log line");
    my $line = $lines[0] // '';

    my $j = eval { $latin1->decode($line) };
    ok(ref $j eq 'HASH', "$name: the line is a JSON object") or do {
        (my $l = $line) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
        diag("$@\n$l");
        next;
    };
    ok(!ref $j->{$_} && defined $j->{$_}, "$name: $_ is a string")
        for @ABNginx::LOG_KEYS;
    is(scalar(keys %$j), scalar(@ABNginx::LOG_KEYS), "$name: no other keys");
    if ($is_utf8->($line)) {
        ok(eval { $strict->decode($line); 1 }, "$name: valid UTF-8 line parses strictly")
            or diag($@);
    }
    ok($line !~ /[\x00-\x1f]/, "$name: no raw control bytes in the line");

    next unless defined $uri;
    next if $maybe && $r && $r->{status} == 400;
    ok($r && $r->{status} == 200, "$name: served") or next;
    is($j->{uri}, $uri, "$name: uri field gives back the bytes sent");
    (my $want_ua = $ua) =~ s/^ +| +$//g;
    is($j->{ua}, $want_ua, "$name: ua field gives back the bytes sent");
    is($j->{status}, '200', "$name: status");
    if ($uri !~ /^\/plain/) {
        my ($sc) = set_cookies($r);
        my ($uid, $v) = split /\|/, $r->{body};
        ok($sc && $sc->{value} eq $uid && $j->{uid} eq $uid && $j->{uid_new} eq '1'
            && $j->{exposures} eq "e:$v", "$name: uid and exposures logged");
    }
}

# random bytes: 3,000 requests, User-Agent of any bytes but NUL, CR and
# LF, URI of printable, quote, backslash and high bytes
srand(2611);
my @ua_bytes = grep { $_ != 0 && $_ != 10 && $_ != 13 } 0 .. 255;
my @uri_bytes = ((map { ord } 'a' .. 'z', '0' .. '9', split //, '"\\{}[]:,%/?&=\'<>'),
    0x80 .. 0xff);
my (@fuzz, @sent);
for my $i (1 .. 3000) {
    my $ua = join '', map { chr $ua_bytes[rand @ua_bytes] } 1 .. 1 + int(rand 60);
    my $uri = "/f$i/" . join '', map { chr $uri_bytes[rand @uri_bytes] } 1 .. int(rand 40);
    push @fuzz, http_request($uri, "User-Agent: $ua");
    (my $trimmed = $ua) =~ s/^ +| +$//g;    # nginx trims spaces only
    push @sent, [$uri, $trimmed];
}
$t->mark_log;
# the raw client: HTTP::Tiny refuses to send most of these bytes
my $resp = $t->pipeline(\@fuzz);
my @lines = $t->new_log_lines(scalar @fuzz);
is(scalar @lines, scalar @fuzz, 'random bytes: one line per request');
my ($bad_json, $bad_fields, @diag) = (0, 0);
my %by_uri;
for my $l (@lines) {
    my $j = eval { $latin1->decode($l) };
    if (!$j || $l =~ /[\x00-\x1f]/) {
        $bad_json++;
        (my $s = $l) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
        push @diag, $s;
        next;
    }
    $by_uri{$j->{uri}} = $j;
}
for my $i (0 .. $#sent) {
    my ($uri, $ua) = @{$sent[$i]};
    my $j = $by_uri{$uri};
    next if $resp->[$i]{status} == 400 && !$j;
    next if $j && $j->{ua} eq $ua && $j->{status} eq $resp->[$i]{status};
    $bad_fields++;
    my $s = join ' | ', $resp->[$i]{status}, $uri, $ua, $j ? ($j->{status}, $j->{ua}) : '<no line>';
    $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    push @diag, $s;
}
is($bad_json, 0, 'random bytes: every line is JSON without raw control bytes')
    or diag(join "\n", @diag[0 .. ($#diag > 4 ? 4 : $#diag)]);
is($bad_fields, 0, 'random bytes: uri and ua give back the bytes sent')
    or diag(join "\n", @diag[0 .. ($#diag > 4 ? 4 : $#diag)]);
my $served = grep { $_->{status} == 200 } @$resp;
ok($served > 2500, "random bytes: most requests served ($served)");

ABNginx::finish();

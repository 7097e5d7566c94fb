#!/usr/bin/perl
# The visitor-id cookie: the Set-Cookie flags of every ab_uid_cookie form,
# assignment on the first request, the cookie on error pages and
# redirects, no cookie when nothing needs the id, every kind of invalid
# cookie replaced by a fresh id (and never reflected), duplicate cookies.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::Local qw(timegm);
use ABNginx qw(http_request reference_assign set_cookies header_values);

my $t = ABNginx->new->require_module->require_reference;

my $EXPERIMENT = "ab_experiment e { variant a 50%; variant b 50%; }\n";
my $http = $EXPERIMENT . <<'EOF';
server {
    listen 127.0.0.1:%%PORT%%;
    location /ab       { ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /twice    { ab e; add_header X-Twice "$ab_uid $ab_e"; return 200 "$ab_uid|$ab_uid_new|$ab_e|$ab_e|$ab_uid"; }
    location /var      { return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /hdr      { add_header X-V "$ab_e" always; return 200 "plain"; }
    location /none     { return 200 "none"; }
    location /newonly  { return 200 "$ab_uid_new"; }
    location /redirect { ab e; return 302 /ab; }
    location /notfound { ab e; return 404; }
    location /fail     { ab e; return 500; }
    location /static   { ab e; root %%DIR%%/empty; }
    location /proxied  {
        proxy_set_header X-E $ab_e;
        proxy_set_header X-Uid $ab_uid;
        proxy_pass http://127.0.0.1:%%PORT_2%%/echo;
    }
}

server {
    listen 127.0.0.1:%%PORT_2%%;
    location /echo { ab off; return 200 "$http_x_uid|1|$http_x_e"; }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    ab_uid_cookie vid max_age=30d domain=example.com path=/shop secure httponly samesite=strict;
    location /         { ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /session  { ab_uid_cookie sid max_age=session; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /bare     { ab_uid_cookie bare; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /ssnone   { ab_uid_cookie n samesite=none secure; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /hour     { ab_uid_cookie h max_age=1h; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /secs     { ab_uid_cookie s max_age=90 path=/secs; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /zero     { ab_uid_cookie z max_age=0; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
}
EOF
$t->write_config($http)->start;

my %MON = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
    Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
sub http_time {
    my ($s) = @_;
    my ($d, $mon, $y, $h, $m, $sec) =
        $s =~ /^\w{3}, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/
        or return undef;
    return timegm($sec, $m, $h, $d, $MON{$mon}, $y);
}

sub ref_variant {
    my ($uid) = @_;
    my ($r) = reference_assign([$uid, 'e', '100%', '50%,50%']);
    return ('a', 'b')[$r->{variant_index}];
}

# Checks a fresh-visitor response: one Set-Cookie of exactly the expected
# shape (a regex with (UID) and optionally (EXPIRES)), body with the same
# id, uid_new 1 and the reference variant. Returns the uid.
sub check_fresh {
    my ($r, $name, $re, $max_age, %o) = @_;
    my @sc = header_values($r, 'set-cookie');
    is(scalar @sc, 1, "$name: one Set-Cookie") or diag(explain \@sc);
    my ($uid, $expires) = ($sc[0] // '') =~ $re;
    ok(defined $uid, "$name: Set-Cookie is exactly as configured")
        or diag("got: " . ($sc[0] // '<none>') . "\nwant: $re");
    if (defined $max_age) {
        my $date = http_time($r->{h}{date}[0] // '');
        my $exp = http_time($expires // '');
        ok(defined $exp && defined $date && abs($exp - $date - $max_age) <= 2,
            "$name: Expires is Date + $max_age s")
            or diag("Date: " . ($r->{h}{date}[0] // '') . ", Expires: "
                . ($expires // ''));
    }
    return $uid if $o{no_body};
    my ($buid, $new, $v) = split /\|/, $r->{body}, -1;
    is($buid, $uid, "$name: the request used the minted id");
    is($new, '1', "$name: \$ab_uid_new is 1");
    is($v, ref_variant($uid // ''), "$name: assigned on the first request")
        if defined $uid;
    return $uid;
}

my $HEX = qr/([0-9a-f]{32})/;
my $EXP = qr/([A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT)/;
my $YEAR = 365 * 86400;

# default cookie (no ab_uid_cookie): abid max_age=1y path=/ samesite=lax httponly
my $r = $t->get('/ab');
is($r->{status}, 200, 'fresh visitor: 200');
my $uid = check_fresh($r, 'default cookie',
    qr/^abid=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; HttpOnly; SameSite=Lax$/,
    $YEAR);

# replaying the cookie: same id and variant, no new cookie
$r = $t->get('/ab', "Cookie: abid=$uid");
is(scalar(header_values($r, 'set-cookie')), 0, 'replay: no Set-Cookie');
is($r->{body}, "$uid||" . ref_variant($uid), 'replay: same id, not new, same variant');

# several uses of the id in one request: one cookie, one id
$r = $t->get('/twice');
my $u2 = check_fresh($r, 'several uses', qr/^abid=$HEX;/, undef);
my (undef, undef, $v2a, $v2b, $u2b) = split /\|/, $r->{body}, -1;
ok(defined $u2 && $u2b eq $u2 && $v2a eq $v2b, 'several uses: one id, one variant');
is($r->{h}{'x-twice'}[0], "$u2 $v2a", 'several uses: add_header sees the same');

# the id is needed by a variable only (no ab): minted and set
$r = $t->get('/var');
check_fresh($r, 'variable in return', qr/^abid=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; HttpOnly; SameSite=Lax$/, $YEAR);

$r = $t->get('/hdr');
my $uh = check_fresh($r, 'variable in add_header', qr/^abid=$HEX;/, undef,
    no_body => 1);
is($r->{h}{'x-v'}[0], ref_variant($uh // ''), 'add_header: variant of the minted id')
    if defined $uh;

# $ab_uid_new alone needs the id too
$r = $t->get('/newonly');
my @sc_new = set_cookies($r);
ok(@sc_new == 1 && $sc_new[0]{value} =~ /^[0-9a-f]{32}$/ && $r->{body} eq '1',
    '$ab_uid_new alone: minted, set, "1"') or diag($r->{raw});

# the id is needed by proxy_set_header only (a storefront rendering the
# variant without an exposure)
$r = $t->get('/proxied');
check_fresh($r, 'variable in proxy_set_header', qr/^abid=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; HttpOnly; SameSite=Lax$/, $YEAR);

# nothing needs the id: no cookie, empty uid in the log
$t->mark_log;
$r = $t->get('/none');
is(scalar(header_values($r, 'set-cookie')), 0, 'no use of the id: no Set-Cookie');
$r = $t->get('/none', 'Cookie: abid=EVIL');
is(scalar(header_values($r, 'set-cookie')), 0, 'no use of the id, invalid cookie: no Set-Cookie');
$r = $t->get('/none', "Cookie: abid=$uid");
my @l = $t->log_json(new => 1, count => 3);
is_deeply([map { [$_->{uid}, $_->{uid_new}, $_->{exposures}] } @l],
    [['', '', ''], ['', '', ''], [$uid, '', '']],
    'log of requests that needed no id: uid empty, or the valid cookie');

# error pages and redirects carry the cookie
for my $case (['/redirect', 302], ['/notfound', 404], ['/fail', 500],
    ['/static/x', 404])
{
    my ($path, $status) = @$case;
    $r = $t->get($path);
    is($r->{status}, $status, "$path: $status");
    check_fresh($r, "$path: cookie on a $status",
        qr/^abid=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; HttpOnly; SameSite=Lax$/,
        $YEAR, no_body => 1);
}

# configured cookies (second server)
my $p1 = $t->port(1);
my @configured = (
    ['/', 'server-level vid',
        qr/^vid=$HEX; Max-Age=2592000; Expires=$EXP; Domain=example\.com; Path=\/shop; Secure; HttpOnly; SameSite=Strict$/,
        2592000],
    ['/session', 'max_age=session', qr/^sid=$HEX; Path=\/; SameSite=Lax$/, undef],
    ['/bare', 'name only',
        qr/^bare=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; SameSite=Lax$/, $YEAR],
    ['/ssnone', 'samesite=none secure',
        qr/^n=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; Secure; SameSite=None$/, $YEAR],
    ['/hour', 'max_age=1h',
        qr/^h=$HEX; Max-Age=3600; Expires=$EXP; Path=\/; SameSite=Lax$/, 3600],
    ['/secs', 'max_age=90 path=/secs',
        qr/^s=$HEX; Max-Age=90; Expires=$EXP; Path=\/secs; SameSite=Lax$/, 90],
    ['/zero', 'max_age=0',
        qr/^z=$HEX; Max-Age=0; Expires=$EXP; Path=\/; SameSite=Lax$/, 0],
);
for my $c (@configured) {
    my ($path, $name, $re, $age) = @$c;
    $r = $t->get_all([[$path]], port => $p1)->[0];
    check_fresh($r, $name, $re, $age);
}

# the configured name is the one read
my $valid = 'Valid_id-0123456789';
$r = $t->get_all([['/', "Cookie: vid=$valid"]], port => $p1)->[0];
is($r->{body}, "$valid||" . ref_variant($valid), 'configured name: cookie read');
is(scalar(header_values($r, 'set-cookie')), 0, 'configured name: no Set-Cookie');
$r = $t->get_all([['/', "Cookie: abid=$valid"]], port => $p1)->[0];
my ($other) = map { $_->{value} } set_cookies($r, 'vid');
ok($other && $other ne $valid && $r->{body} =~ /^\Q$other\E\|1\|/,
    'configured name: the default name is not read');

# valid ids that the module did not mint are kept as they are
for my $v ('ABCDEFGHIJ_-klmn', 'z' x 64, '0' x 16, 'A-_z' x 16,
    '-_-_-_-_-_-_-_-_-_-_')
{
    $r = $t->get('/ab', "Cookie: abid=$v");
    is($r->{body}, "$v||" . ref_variant($v), "valid id kept: $v");
    is(scalar(header_values($r, 'set-cookie')), 0, "valid id kept: no Set-Cookie ($v)");
}

# invalid cookies: a fresh id every time, nothing of the value reflected
my @invalid = (
    ['empty', ''],
    ['too short', 'EVIL'],
    ['15 chars', 'EVIL' . 'x' x 11],
    ['65 chars', 'EVIL' . 'x' x 61],
    ['4000 chars', 'EVIL' . 'x' x 3996],
    ['dot', 'EVIL.abcdefghijklmnop'],
    ['plus', 'EVIL+abcdefghijklmnop'],
    ['slash', 'EVIL/abcdefghijklmnop'],
    ['equals', 'EVIL=abcdefghijklmnop'],
    ['percent', 'EVIL%41abcdefghijklmnop'],
    ['comma', 'EVILabcdefghijklmnop,x'],
    ['inner space', 'EVILabcd efghijklmnop'],
    ['colon', 'EVIL:abcdefghijklmnop'],
    ['backslash', 'EVIL\\abcdefghijklmnop'],
    ['leading quote', '"EVILabcdefghijklmnop'],
    ['trailing quote', 'EVILabcdefghijklmnop"'],
    ['inner quote', 'EVILabcd"efghijklmnop'],
    ['empty quotes', '""'],
    ['quoted invalid', '"EVIL.abcdefghijklmnop"'],
    ['html', '<script>alert(EVIL)</script>'],
    ['control byte', "EVIL\x01abcdefghijklmnop"],
    ['escape sequence', "\x1b[31mEVILabcdefghijklmnop"],
    ['tab inside', "EVILabcd\tefghijklmnop"],
    ['DEL', "EVILabcdefghijklmnop\x7f"],
    ['byte 0xff', "EVILabcdefghijklmnop\xff"],
    ['UTF-8', "EVILabcdefghijklmnop\xc3\xa9"],
    ['invalid UTF-8', "EVIL\xc3\x28abcdefghijklmnop"],
);
$t->mark_log;
$t->mark_log('error.log');
# the raw client: control bytes and non-ASCII, which HTTP::Tiny refuses
my @reqs = map { http_request('/ab', "Cookie: abid=$_->[1]") } @invalid;
my $resp = $t->pipeline(\@reqs);
my %minted;
for my $i (0 .. $#invalid) {
    my ($name, $value) = @{$invalid[$i]};
    my $r = $resp->[$i];
    my @sc = set_cookies($r);
    my $new = @sc == 1 ? $sc[0]{value} : undef;
    ok(defined $new && $new =~ /^[0-9a-f]{32}$/ && $new ne $value,
        "invalid cookie ($name): a fresh id is set")
        or diag(join "\n", header_values($r, 'set-cookie'));
    $new //= '';
    $minted{$new}++;
    my $ref = $new ? ref_variant($new) : '?';
    is($r->{body}, "$new|1|$ref", "invalid cookie ($name): request used the fresh id");
    unlike($r->{raw}, qr/EVIL/, "invalid cookie ($name): value not reflected");
}
is(scalar(keys %minted), scalar(@invalid), 'a different id each time');
my @ll = $t->log_json(new => 1, count => scalar @invalid);
is(scalar(grep { $_->{uid_new} eq '1' && $minted{$_->{uid}} } @ll),
    scalar(@invalid), 'log: the fresh ids, uid_new 1');
my @el = $t->new_log_lines(undef, 'error.log');
is(scalar(grep { /\[(warn|error|crit|alert|emerg)\]/ } @el), 0,
    'invalid cookies are logged at info at most') or diag(join "\n", @el);
is(scalar(grep { /[\x00-\x08\x0b-\x1f\x7f]/ } @el), 0,
    'no raw control bytes from cookies in error.log');

# a NUL byte: nginx itself rejects the header line (400), or the cookie
# is replaced like any invalid one
$r = $t->raw(http_request('/ab', "Cookie: abid=EVIL\x00abcdefghijklmnop"));
ok($r && ($r->{status} == 400
        || (map { $_->{value} } set_cookies($r))[0] =~ /^[0-9a-f]{32}$/),
    'NUL in the cookie: 400 or a fresh id');
unlike($r ? $r->{raw} : '', qr/EVIL/, 'NUL in the cookie: value not reflected');

# duplicates and look-alike names
my ($v1, $v2) = ('first_valid_id_0001', 'second_valid_id_0002');
my @dups = (
    ['invalid then valid ones', ["Cookie: abid=EVIL; abid=$v1; abid=$v2"], $v1],
    ['two valid ones', ["Cookie: abid=$v1; abid=$v2"], $v1],
    ['among other cookies', ["Cookie: a=1; abid=$v2; b=2"], $v2],
    ['two Cookie headers, invalid first', ['Cookie: abid=EVIL', "Cookie: abid=$v2"], $v2],
    ['two Cookie headers, valid first', ["Cookie: abid=$v1", "Cookie: abid=$v2"], $v1],
    ['empty then valid', ["Cookie: abid=; abid=$v2"], $v2],
    ['no space after ;', ["Cookie: x=EVIL;abid=$v1"], $v1],
);
for my $d (@dups) {
    my ($name, $hdrs, $want) = @$d;
    $r = $t->get('/ab', @$hdrs);
    is($r->{body}, "$want||" . ref_variant($want), "duplicates ($name): first valid wins");
    is(scalar(header_values($r, 'set-cookie')), 0, "duplicates ($name): no Set-Cookie");
}
for my $h ("Cookie: xabid=$v1", "Cookie: abidx=$v1", "Cookie: ABID=$v1",
    "Cookie: x=abid=$v1", "X-Cookie: abid=$v1")
{
    $r = $t->get('/ab', $h);
    my ($new) = map { $_->{value} } set_cookies($r);
    ok(defined $new && $new ne $v1 && $r->{body} =~ /^\Q$new\E\|1\|/,
        "look-alike not taken: $h");
}

# ab_uid_cookie at http level, inherited by servers and locations
ok($t->reload($EXPERIMENT . <<'EOF'), 'reload with an http-level ab_uid_cookie');
ab_uid_cookie hc max_age=2h path=/p samesite=strict;
server {
    listen 127.0.0.1:%%PORT%%;
    location /ab { ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
    location /own { ab_uid_cookie own; ab e; return 200 "$ab_uid|$ab_uid_new|$ab_e"; }
}
EOF
$r = $t->get('/ab');
check_fresh($r, 'http-level ab_uid_cookie',
    qr/^hc=$HEX; Max-Age=7200; Expires=$EXP; Path=\/p; SameSite=Strict$/, 7200);
$r = $t->get('/own');
check_fresh($r, 'location overrides http level',
    qr/^own=$HEX; Max-Age=$YEAR; Expires=$EXP; Path=\/; SameSite=Lax$/, $YEAR);

ABNginx::finish();

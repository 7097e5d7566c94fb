#!/usr/bin/perl
# Hostile input to the module, beyond what module-cookie.t, module-events.t,
# module-force.t and module-log-json.t already send (issue 7):
#
#   - Cookie headers of 8 KB and of thousands of cookies, hundreds of
#     Cookie headers, control bytes and invalid UTF-8 around a valid id,
#     a hostile marker cookie (NAME_x of ab_zone);
#   - event headers from a raw upstream that nginx's own config language
#     cannot produce: NUL and CR bytes, folded lines, 2000 headers, a
#     60 KB header of random bytes, names in odd case or with a space
#     before the colon, events on 204/304/500 responses. Each goes
#     through a location with ab_event_header on and one with it off: the
#     status must be the same (a 5xx is then nginx's or the upstream's,
#     never the module's);
#   - force lists of 25 KB and random bytes, where forcing is allowed and
#     where it is not.
#
# Throughout: no 5xx caused by the module, no worker crash (same worker
# pid at the end), the module logs at most [warn] and its warnings are
# printable ASCII; every access-log line is JSON; the live counters stay
# JSON and agree with the log. A client cannot: force without
# ab_force_allow, get another visitor's id (pipelined requests on one
# connection, interleaved connections), or have its bytes reflected
# unescaped (responses, Set-Cookie, beacon errors, the status page).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use ABNginx qw(http_request header_values set_cookies);
use ABLog qw(full_log log_ok error_mark error_since);

my $t = ABNginx->new->require_module;

my $V = 'hostile-visitor-0001';     # a valid id the client owns
my $V2 = 'hostile-visitor-0002';
my $HEX32 = qr/^[0-9a-f]{32}$/;

# deterministic "random" bytes (no srand dependency across perls)
my $seed = 7;
sub rnd_bytes {
    my ($n, $exclude) = @_;
    my $s = '';
    while (length $s < $n) {
        $seed = ($seed * 1103515245 + 12345) % 2147483648;
        my $c = chr(($seed >> 16) & 0xff);
        next if $exclude && $c =~ $exclude;
        $s .= $c;
    }
    return $s;
}

############################################################################
# a raw upstream: canned responses by path, bytes nginx would never write

my %up;
sub resp {
    my ($status, $headers, $body) = @_;
    $body //= 'ok';
    my $len = $status =~ /^(204|304)$/ ? '' : 'Content-Length: '
        . length($body) . "\r\n";
    $body = '' if $status =~ /^(204|304)$/;
    return "HTTP/1.1 $status X\r\n$headers${len}Connection: close\r\n\r\n$body";
}
my $two_thousand = join '', map { "X-AB-Event: e$_\r\n" } 1 .. 2000;
my $garbage60k = rnd_bytes(60000, qr/[\r\n\0]/);
%up = (
    plain      => resp(200, ''),
    nul        => resp(200, "X-AB-Event: purchase\0; revenue=1\r\n"),
    nul_name   => resp(200, "X-AB-\0Event: purchase\r\n"),
    cr         => resp(200, "X-AB-Event: purchase\r; revenue=1\r\n"),
    lf_only    => "HTTP/1.1 200 X\nX-AB-Event: lf_event\nContent-Length: 2\n"
        . "Connection: close\n\nok",
    fold       => resp(200, "X-AB-Event: a,\r\n b\r\n"),
    space_name => resp(200, "X-AB-Event : space_before_colon\r\n"),
    no_colon   => resp(200, "X-AB-Event purchase\r\n"),
    empty      => resp(200, "X-AB-Event:\r\nX-AB-Event:    \r\n"),
    separators => resp(200, "X-AB-Event: ,,,;;;,;=;=,\r\n"),
    equals     => resp(200, "X-AB-Event: ====\r\nX-AB-Event: a;=;b=\r\n"),
    cases      => resp(200, "x-ab-event: lower\r\nX-AB-EVENT: upper\r\n"
        . "X-Ab-Event: mixed\r\n"),
    underscore => resp(200, "X_AB_Event: underscore\r\n"),
    many       => resp(200, $two_thousand),
    garbage    => resp(200, "X-AB-Event: EVIL$garbage60k\r\n"),
    utf8       => resp(200, "X-AB-Event: caf\xc3\xa9, \xff\xfe, ok_after, "
        . "\xed\xa0\x80\r\n"),
    ansi       => resp(200, "X-AB-Event: \x1b[31mEVIL\x1b[0m; order=\"x\"\\\r\n"),
    forged_src => resp(200, "X-AB-Event: purchase; src=client; revenue=5\r\n"),
    s204       => resp(204, "X-AB-Event: on_204\r\n"),
    s304       => resp(304, "X-AB-Event: on_304\r\n"),
    s500       => resp(500, "X-AB-Event: on_500\r\n"),
    s502       => resp(502, "X-AB-Event: " . ('z' x 5000) . "\r\n"),
    too_big    => resp(200, 'X-AB-Event: ' . ('a,' x 40000) . "a\r\n"),
);

my $up_port = $t->port(3);
my $up_pid;
{
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
        LocalPort => $up_port, Listen => 64, ReuseAddr => 1, Proto => 'tcp')
        or BAIL_OUT("raw upstream: cannot listen on $up_port: $!");
    $up_pid = fork() // die "fork: $!";
    if (!$up_pid) {
        alarm 300;      # bounded, whatever happens to the parent
        local $SIG{PIPE} = 'IGNORE';
        while (my $c = $srv->accept) {
            my $req = '';
            while ($req !~ /\r\n\r\n/ && length $req < 1 << 20) {
                my $n = sysread($c, my $b, 65536);
                last unless $n;
                $req .= $b;
            }
            my ($name) = $req =~ m{^\S+ /raw/(\w+)};
            my $r = defined $name && $up{$name} ? $up{$name}
                : resp(404, '', 'no such case');
            my $off = 0;
            while ($off < length $r) {
                my $w = syswrite($c, $r, length($r) - $off, $off);
                last unless $w;
                $off += $w;
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
}
END {
    local $?;       # the test's exit status, not the upstream's
    if ($up_pid) { kill 'TERM', $up_pid; waitpid($up_pid, 0) }
}

my $B = '"$ab_uid|$ab_uid_new|$ab_e1|$ab_e2|$ab_exposures|$ab_forced"';

$t->write_config(full_log() . <<"EOF", access_log => 0)->start;
ab_zone ab_live 1m;
ab_experiment e1 { variant a 50%; variant b 50%; }
ab_experiment e2 { salt e2-salt; variant x 1; variant y 1; variant z 1; }

server {
    listen 127.0.0.1:%%PORT%%;
    large_client_header_buffers 8 64k;
    proxy_buffer_size 64k;
    proxy_buffers 8 64k;
    proxy_busy_buffers_size 128k;

    # forcing is configured but never allowed here
    ab_force \$http_x_qa_force;

    location / { ab e1 e2; return 200 $B; }
    location /p/ { ab e1; proxy_pass http://127.0.0.1:%%PORT_3%%/raw/; }
    location /off/ {
        ab e1;
        ab_event_header off;
        proxy_pass http://127.0.0.1:%%PORT_3%%/raw/;
    }
    location = /ab/event { ab_beacon; }
    location = /ab/status { ab_status; allow 127.0.0.1; deny all; }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    large_client_header_buffers 8 64k;
    ab_force \$http_x_qa_force;
    ab_force_allow 1;
    location / { ab e1 e2; return 200 $B; }
}
EOF

my @workers = $t->worker_pids;
my $n_log = 0;          # requests that reach the access log
my $n_e1 = 0;           # of which expose e1 (every request to / and /p/)

# the body of location / : uid|new|e1|e2|exposures|forced
sub fields { my @f = split /\|/, $_[0]{body} // '', -1; return @f }

# no EVIL byte sequence in any response header (body checked per case)
sub no_reflection {
    my ($r, $name) = @_;
    my $head = join "\n", map { "$_->[0]: $_->[1]" } @{$r->{headers} || []};
    unlike($head, qr/EVIL|<script/i, "$name: nothing of the input in the "
        . 'response headers');
}

# natural variants of the valid ids, without anything hostile
my %natural;
for my $u ($V, $V2) {
    my $r = $t->get('/', "Cookie: abid=$u");
    $natural{$u} = join '|', (fields($r))[2, 3];
    $n_log++;
    $n_e1++;
}

############################################################################
# cookies

my $big = 'EVIL' . ('x' x 8188);                  # 8 KB
my $thousands = join '; ', map { "c$_=v$_" } 1 .. 3000;
my $thousand_bad = join '; ', ('abid=EVIL') x 3000;
my @cookie_cases = (
    # [name, [headers], expected uid: a valid id, or undef for a fresh one]
    ['8 KB invalid id', ["Cookie: abid=$big"], undef],
    ['8 KB quoted invalid id', ["Cookie: abid=\"$big\""], undef],
    ['8 KB cookie before the id', ["Cookie: junk=$big; abid=$V"], $V],
    ['8 KB cookie after the id', ["Cookie: abid=$V; junk=$big"], $V],
    ['8 KB cookie name', ["Cookie: $big=1; abid=$V"], $V],
    ['3000 cookies, then the id', ["Cookie: $thousands; abid=$V"], $V],
    ['3000 cookies, no id', ["Cookie: $thousands"], undef],
    ['3000 invalid ids, then a valid one', ["Cookie: $thousand_bad; abid=$V"],
        $V],
    ['3000 invalid ids', ["Cookie: $thousand_bad"], undef],
    ['200 Cookie headers of invalid ids, then a valid one',
        [(map { "Cookie: abid=EVIL$_" } 1 .. 200), "Cookie: abid=$V"], $V],
    ['200 Cookie headers of valid ids: the first wins',
        [(map { "Cookie: abid=$V" } 1 .. 100), (map { "Cookie: abid=$V2" } 1 .. 100)],
        $V],
    ['500 empty Cookie headers, then the id',
        [('Cookie: ;') x 500, "Cookie: abid=$V"], $V],
    ['control bytes around the id',
        ["Cookie: a=\x01\x02\x1bEVIL\x1f; abid=$V; b=\x7f\x0b"], $V],
    ['invalid UTF-8 around the id',
        ["Cookie: \xff\xfe=\xc3\x28EVIL; abid=$V; \xed\xa0\x80=\xc0\xaf"], $V],
    ['invalid UTF-8 in the id', ["Cookie: abid=EVIL\xc3\x28\xff$V"], undef],
    ['separators only', ['Cookie: ' . (';, ' x 3000)], undef],
    ['equals signs only', ['Cookie: ' . ('=' x 8000)], undef],
    ['name without value', ['Cookie: abid; abid=; abid==EVIL'], undef],
    ['id after 1000 look-alike names',
        ['Cookie: ' . join('; ', map { "abid$_=EVIL" } 1 .. 1000) . "; abid=$V"],
        $V],
    ['hostile marker: 8 KB', ["Cookie: abid=$V; abid_x=$big"], $V],
    ['hostile marker: 17 tags',
        ["Cookie: abid=$V; abid_x=" . join('.', ('abcdef') x 17)], $V],
    ['hostile marker: bytes',
        ["Cookie: abid=$V; abid_x=\x01EVIL\xff.abcdef"], $V],
    ['hostile marker: 2000 of them',
        ["Cookie: abid=$V; " . join('; ', ('abid_x=zzzzzz') x 2000)], $V],
);

for my $c (@cookie_cases) {
    my ($name, $hdrs, $want) = @$c;
    error_mark($t);
    my $r = $t->raw(http_request('/', @$hdrs));
    ok($r && $r->{status} == 200, "cookie, $name: 200")
        or diag($r ? $r->{status} : 'no response');
    next unless $r;
    $n_log++;
    $n_e1++;
    my ($uid, $new) = fields($r);
    my @sc = set_cookies($r);
    if (defined $want) {
        is($uid, $want, "cookie, $name: the valid id is used");
        is(scalar @sc, 0, "cookie, $name: no new id cookie");
        is(join('|', (fields($r))[2, 3]), $natural{$want},
            "cookie, $name: the visitor's variants");
    } else {
        ok(@sc == 1 && $sc[0]{value} =~ $HEX32 && $uid eq $sc[0]{value}
            && $new eq '1', "cookie, $name: a fresh id, used at once")
            or diag(join "\n", header_values($r, 'set-cookie'));
    }
    unlike($r->{body}, qr/EVIL/, "cookie, $name: nothing reflected in the body");
    no_reflection($r, "cookie, $name");
    for my $m (set_cookies($r, 'abid_x')) {
        like($m->{value}, qr/^[0-9a-f]{6}(\.[0-9a-f]{6}){0,15}$/,
            "cookie, $name: the marker cookie holds tags only");
    }
    my @w = grep { /\[(warn|error|crit|alert|emerg)\]/ } split /\n/,
        error_since($t);
    is(scalar @w, 0, "cookie, $name: nothing logged above info")
        or diag(@w);
}

# a NUL byte: nginx refuses the header line (400) or the id is valid
{
    my $r = $t->raw(http_request('/', "Cookie: abid=$V\0EVIL"));
    ok($r && $r->{status} < 500, 'cookie with NUL: no 5xx')
        or diag($r ? $r->{status} : 'no response');
    $n_log++ if $r;
    $n_e1++ if $r && $r->{status} == 200;
    unlike($r ? $r->{raw} : '', qr/EVIL/, 'cookie with NUL: not reflected');
}

############################################################################
# ids: never another visitor's

{
    # pipelined on one connection (the raw client: pipelining is the
    # point): every cookieless request its own id,
    # Set-Cookie only on the response that minted it
    my @reqs = map { $_ % 3 == 2 ? http_request('/', "Cookie: abid=$V")
        : http_request('/') } 0 .. 29;
    my $resp = $t->pipeline(\@reqs, conn => 'ids');
    my (%seen, $ok_own, $ok_valid);
    for my $i (0 .. $#reqs) {
        my ($uid, $new) = fields($resp->[$i]);
        my @sc = set_cookies($resp->[$i]);
        if ($i % 3 == 2) {
            $ok_valid++ if $uid eq $V && !@sc && $new eq '';
        } else {
            $ok_own++ if @sc == 1 && $sc[0]{value} eq $uid && $new eq '1'
                && !$seen{$uid}++;
        }
    }
    is($ok_own, 20, 'pipelined: each cookieless request gets its own new id');
    is($ok_valid, 10, 'pipelined: the visitor with an id keeps it, no cookie');
    $n_log += 30;
    $n_e1 += 30;

    # interleaved connections
    my %ids;
    for my $round (1 .. 5) {
        for my $conn (qw(a b c)) {
            my $r = $t->get_all([['/']], conn => $conn)->[0];
            $ids{(fields($r))[0]}++;
            $n_log++;
            $n_e1++;
        }
    }
    is(scalar(grep { /^[0-9a-f]{32}$/ && $ids{$_} == 1 } keys %ids), 15,
        'interleaved connections: 15 requests, 15 distinct ids');
}

############################################################################
# event headers from a raw upstream

my %events;     # case => [status on, status off]
for my $case (sort keys %up) {
    error_mark($t);
    # keep_open: a half-closed client connection is a 499 to the proxy
    my $on = $t->raw(http_request("/p/$case", "Cookie: abid=$V"),
        keep_open => 1);
    my $on_err = error_since($t);
    my $off = $t->raw(http_request("/off/$case", "Cookie: abid=$V"),
        keep_open => 1);
    ok($on && $off, "upstream $case: answered") or next;
    $n_log += 2;
    $n_e1 += 2;
    is($on->{status}, $off->{status},
        "upstream $case: same status with ab_event_header on and off");
    ok($on->{status} < 500 || $case =~ /^s50/ || $off->{status} >= 500,
        "upstream $case: no 5xx of the module's making ($on->{status})");
    is(scalar(header_values($on, 'x-ab-event')), 0,
        "upstream $case: the event header never reaches the client");
    unlike($on->{body}, qr/EVIL/, "upstream $case: nothing reflected")
        if $on->{status} < 500;
    no_reflection($on, "upstream $case");
    my @bad = grep { /\bab:/ && !/\[(warn|notice|info|debug)\]/ }
        split /\n/, $on_err;
    is(scalar @bad, 0, "upstream $case: the module logs at most [warn]")
        or diag(@bad);
    my @w = grep { /\bab:/ } split /\n/, $on_err;
    ok(@w <= 1, "upstream $case: at most one module line per response");
    for my $w (@w) {
        my ($quoted) = $w =~ /first "((?:[^"\\]|\\x[0-9a-f]{2})*)"/;
        ok(defined $quoted && $w =~ /^[\x20-\x7e]+$/ && length $w < 2048,
            "upstream $case: the warning is short printable ASCII, its "
            . 'quote escaped') or diag($w);
    }
    $events{$case} = [$on->{status}, $off->{status}];
}

############################################################################
# force lists

my $force25k = join ',', ('e1:b') x 5000;
my @force = (
    ['valid item', 'e1:b,e2:z'],
    ['25 KB of valid items', $force25k],
    ['random bytes', 'EVIL' . rnd_bytes(20000, qr/[\r\n\0]/)],
    ['3000 unknown items', join(',', map { "EVIL$_:x" } 1 .. 3000)],
    ['control and quote bytes', "e1:\x1b[31m\"EVIL\\,e2:\x01"],
    ['separators only', ',:' x 8000],
);
for my $f (@force) {
    my ($name, $list) = @$f;

    # not allowed: ignored silently, the visitor's own variants
    error_mark($t);
    my $r = $t->raw(http_request('/', "Cookie: abid=$V", "X-QA-Force: $list"));
    ok($r && $r->{status} == 200, "force not allowed, $name: 200") or next;
    $n_log++;
    $n_e1++;
    my (undef, undef, $e1, $e2, $exp, $forced) = fields($r);
    is("$e1|$e2", $natural{$V}, "force not allowed, $name: own variants");
    is($forced, '', "force not allowed, $name: nothing forced");
    like($exp, qr/^e1:[ab],e2:[xyz]$/, "force not allowed, $name: exposed");
    is(scalar(grep { /\[(warn|error|crit|alert|emerg)\]/ }
        split /\n/, error_since($t)), 0,
        "force not allowed, $name: nothing logged");

    # allowed: never a 5xx, at most one short printable warning
    error_mark($t);
    $r = $t->raw(http_request('/', "Cookie: abid=$V", "X-QA-Force: $list"),
        port => $t->port(1));
    ok($r && $r->{status} == 200, "force allowed, $name: 200") or next;
    $n_log++;
    $n_e1++ if (fields($r))[4] =~ /(^|,)e1:/;   # forced ones are not
    unlike($r->{body}, qr/EVIL/, "force allowed, $name: nothing reflected");
    no_reflection($r, "force allowed, $name");
    my @w = grep { /\[(warn|error|crit|alert|emerg)\]/ } split /\n/,
        error_since($t);
    ok(@w <= 1 && !grep({ !/\[warn\]/ || !/^[\x20-\x7e]+$/ || length > 2048 } @w),
        "force allowed, $name: at most one short printable [warn]")
        or diag(@w);
}
{
    my $r = $t->raw(http_request('/', "Cookie: abid=$V",
        "X-QA-Force: $force25k"), port => $t->port(1));
    is(join('|', (fields($r))[2, 4, 5]), 'b|e2:' . (split /\|/, $natural{$V})[1]
        . '|e1:b', 'force allowed, 25 KB of valid items: e1 forced to b');
    $n_log++;
}

############################################################################
# reflection: the beacon's errors and the status page

for my $q ('e=<script>EVIL</script>', 'e=ok&k=%3Cscript%3EEVIL',
    'e=ok&%3Cscript%3E=1', 'e=' . ('EVIL' x 2000), "e=ok&k=\"EVIL\x01")
{
    my $r = $t->raw(http_request("/ab/event?$q", "Cookie: abid=$V"));
    (my $name = substr($q, 0, 40)) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    ok($r && $r->{status} == 400, "beacon $name: 400") or next;
    $n_log++;
    unlike($r->{body}, qr/EVIL|<script/i, "beacon $name: the reason does "
        . 'not reflect the input');
    no_reflection($r, "beacon $name");
}

# the access log: every line JSON, one per request
my @lines = log_ok($t, 'after every hostile request', count => $n_log);
is(scalar @lines, $n_log, 'one access-log line per request');
my $events_ok = grep { ($_->{events} // '') =~ /^[a-z0-9_;=A-Za-z.:\-,]*$/ }
    @lines;
is($events_ok, scalar @lines, 'logged events hold grammar characters only');
# a response nginx made in place of the upstream's (a 502 for a folded
# header line) carries none of the upstream's events
my @replaced = grep { ($_->{uri} // '') =~ m{^/p/} && $_->{status} >= 500
    && ($events{substr($_->{uri}, 3)} // [0])->[0] >= 500
    && substr($_->{uri}, 3) !~ /^s50/ } @lines;
ok(@replaced, 'some upstream responses were replaced by nginx errors');
is(scalar(grep { length($_->{events} // '') } @replaced), 0,
    'no events from a response nginx replaced');
my @e1 = grep { ($_->{exposures} // '') =~ /(^|,)e1:/ } @lines;
is(scalar @e1, $n_e1, 'every request of an exposure point logged its exposure');

# the status page: JSON, nothing of the input, totals equal the log's
my $st = $t->get('/ab/status');
is($st->{status}, 200, 'status page: 200');
my $j = eval { JSON::PP->new->decode($st->{body}) };
ok($j, 'status page: JSON') or diag($@);
unlike($st->{body}, qr/EVIL|<script|\Q$V\E/, 'status page: no input, no id');
my ($je1) = grep { $_->{name} eq 'e1' } @{$j->{experiments} || []};
my $total = 0;
$total += $_->{exposures} for @{$je1->{variants} || []};
is($total, $n_e1, 'status page: e1 exposures equal the log lines');
my $prom = $t->get('/ab/status?format=prometheus');
unlike($prom->{body}, qr/EVIL|<script/, 'prometheus: no input');

is(join(',', sort $t->worker_pids), join(',', sort @workers),
    'the same worker served everything (no crash, no respawn)');

ABNginx::finish();

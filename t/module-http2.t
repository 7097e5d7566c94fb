#!/usr/bin/perl
# Issue 16, "HTTP/2 and HTTP/3": the module over HTTP/2 with a real client
# (Debian's curl), cleartext with prior knowledge (h2c) and over TLS with a
# certificate made here. A browser sends its cookies over HTTP/2 as several
# `cookie` fields; nginx joins them, and the visitor gets the same id and
# variant as over HTTP/1.1 (one Cookie header, or several). A new visitor
# gets the id cookie, a sticky experiment's cookie is set and read back,
# a client's X-AB-* request headers are stripped, on every protocol, and
# the storefront's X-AB-Event response header is captured and removed
# before the client sees it. HTTP/3: Debian 12's curl is built without
# it, so requests over HTTP/3 go through ngtcp2's example client
# (gtlsclient, Debian's ngtcp2-client): a new visitor gets the id cookie
# and the variant HTTP/1.1 gives that id, and the event header is
# stripped. That client cannot send request headers, so a returning
# visitor's cookie fields over HTTP/3 are tested only where curl has
# HTTP3.
# Runs against any nginx of the matrix (TEST_NGINX_BINARY, scripts/build-matrix).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use ABNginx;

my $t = ABNginx->new->require_module;

my $nginx_v = `$ABNginx::NGINX -V 2>&1`;
plan(skip_all => "$ABNginx::NGINX is built without --with-http_v2_module")
    unless $nginx_v =~ /--with-http_v2_module/;
plan(skip_all => "$ABNginx::NGINX is built without --with-http_ssl_module")
    unless $nginx_v =~ /--with-http_ssl_module/;
my $curl_v = `curl -V 2>/dev/null`;
plan(skip_all => 'curl with HTTP/2 is missing (apt-get install curl)')
    unless $curl_v =~ /^Features:.*\bHTTP2\b/m;
plan(skip_all => 'openssl is missing')
    if system('openssl version >/dev/null 2>&1') != 0;

my ($version) = $nginx_v =~ m{nginx version: nginx/(\d+\.\d+\.\d+)};
my @v = split /\./, $version;
# 1.25.1 moved http2 from a listen parameter to a directive of its own
my $http2_directive = $v[0] > 1 || $v[1] > 25 || ($v[1] == 25 && $v[2] >= 1);
my $nginx_h3 = $nginx_v =~ /--with-http_v3_module/;
my $curl_h3 = $curl_v =~ /^Features:.*\bHTTP3\b/m;
my $debug = $nginx_v =~ /--with-debug/;
my $gtls = system('command -v gtlsclient >/dev/null 2>&1') == 0;

my $dir = $t->dir;
my $cert = "$dir/cert.pem";
my $key = "$dir/key.pem";
open(my $saved_stderr, '>&', \*STDERR) or die;
open(STDERR, '>', "$dir/openssl.log") or die;
my $made = system('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj',
    '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', $key, '-out', $cert) == 0;
open(STDERR, '>&', $saved_stderr) or die;
BAIL_OUT('openssl could not make the test certificate: '
    . ($t->read_file('openssl.log') // '')) unless $made;

my ($h2c_listen, $tls_listen, $http2_on) = $http2_directive
    ? ('', ' ssl', 'http2 on;')
    : (' http2', ' ssl http2', '');
my $quic = $nginx_h3 ? 'listen 127.0.0.1:%%PORT_2%% quic;' : '';

my $location = <<'EOF';
    error_log %%DIR%%/debug.log debug;
    access_log %%DIR%%/ab.log ab_proto;
    location /x {
        ab e;
        return 200 "$ab_e|$ab_uid|$ab_uid_new|$http_x_ab_uid|$http_x_other|$server_protocol\n";
    }
    location /buy {
        ab e;
        proxy_pass http://127.0.0.1:%%PORT_3%%;
    }
    location /s { ab s; return 200 "$ab_s"; }
EOF
chmod 0600, $t->write_file('sticky.key', "00112233445566778899aabbccddeeff\n");
$t->write_config(<<"EOF")->start;
log_format ab_proto '\$server_protocol|\$ab_uid|\$ab_events|\$request_uri';
server {
    listen 127.0.0.1:%%PORT_3%%;
    access_log off;
    location / {
        add_header X-AB-Event "purchase; order=\$arg_o; revenue=12.5" always;
        return 200 "bought\n";
    }
}
ab_experiment e { salt h2; variant a 50%; variant b 50%; }
ab_sticky_secret %%DIR%%/sticky.key;
ab_experiment s { sticky on; variant a 50%; variant b 50%; }
server {
    listen 127.0.0.1:%%PORT%%;
$location
}
server {
    listen 127.0.0.1:%%PORT_1%%$h2c_listen;
    $http2_on
$location
}
server {
    listen 127.0.0.1:%%PORT_2%%$tls_listen;
    $quic
    $http2_on
    ssl_certificate $cert;
    ssl_certificate_key $key;
$location
}
EOF

my %url = (
    'HTTP/1.1' => ['http://127.0.0.1:' . $t->port(0), '--http1.1'],
    'h2c'      => ['http://127.0.0.1:' . $t->port(1), '--http2-prior-knowledge'],
    'h2 (TLS)' => ['https://127.0.0.1:' . $t->port(2), '--http2', '--cacert', $cert],
);
my %want_protocol = ('HTTP/1.1' => 'HTTP/1.1', 'h2c' => 'HTTP/2.0',
    'h2 (TLS)' => 'HTTP/2.0');

# One request with curl: {status, protocol, h => {lc name => [v]}, body}.
sub curl {
    my ($lane, $path, @headers) = @_;
    my ($base, @opts) = @{$url{$lane}};
    my @cmd = ('curl', '-sS', '-i', '--max-time', '10', @opts,
        map({ ('-H', $_) } @headers), "$base$path");
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec(@cmd) or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my ($head, $body) = split /\r\n\r\n/, $out, 2;
    my ($status_line, @lines) = split /\r\n/, $head // '';
    my %h;
    for (@lines) {
        my ($n, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{$h{lc $n}}, $v;
    }
    my ($proto, $status) = ($status_line // '') =~ m{^(HTTP/[\d.]+)\s+(\d+)};
    return { status => $status // 0, protocol => $proto // '', h => \%h,
        body => $body // '', raw => $out };
}

sub fields {
    my ($r) = @_;
    my %f;
    @f{qw(variant uid uid_new forged other protocol)} = split /\|/,
        ($r->{body} =~ s/\n\z//r), -1;
    return \%f;
}

# The log line of the request for /buy?o=ORDER holds the captured event.
sub event_logged {
    my ($lane, $protocol, $uid, $order) = @_;
    my $line;
    for (1 .. 50) {
        ($line) = grep { m{\|/buy\?o=\Q$order\E$} }
            split /\n/, $t->read_file('ab.log') // '';
        last if $line;
        select(undef, undef, undef, 0.1);
    }
    is($line, "$protocol|$uid|purchase;order=$order;revenue=12.5|/buy?o=$order",
        "$lane: the event is in the log line");
}

my @uids = ('h2visitor0000000000000001', 'h2visitor0000000000000002',
    'h2visitor0000000000000003', 'h2visitor0000000000000004',
    '0123456789abcdef', 'A-_zA-_zA-_zA-_zA-_zA-_zA-_zA-_z');

# the reference: HTTP/1.1, one Cookie header, on the harness's own client
my %variant;
for my $u (@uids) {
    my $f = fields($t->get('/x', "Cookie: pre=1; abid=$u; post=2"));
    is($f->{uid}, $u, "HTTP/1.1: id $u from the cookie");
    like($f->{variant}, qr/^[ab]$/, "HTTP/1.1: $u has a variant");
    $variant{$u} = $f->{variant};
}
ok((grep { $variant{$_} eq 'a' } @uids) && (grep { $variant{$_} eq 'b' } @uids),
    'the ids cover both variants');

for my $lane ('HTTP/1.1', 'h2c', 'h2 (TLS)') {
    for my $u (@uids) {
        my %as = (
            'one cookie field' => ["cookie: pre=1; abid=$u; post=2"],
            'cookie fields'    => ['cookie: pre=1', "cookie: abid=$u",
                'cookie: post=2'],
            'id in the last field' => ['cookie: pre=1; other=x',
                "cookie: abid=$u"],
        );
        for my $how (sort keys %as) {
            my $r = curl($lane, "/x?" . ($how =~ tr/ /-/r), @{$as{$how}});
            is($r->{status}, 200, "$lane, $how: 200") or diag($r->{raw});
            my $f = fields($r);
            is($f->{protocol}, $want_protocol{$lane}, "$lane: spoken");
            is($f->{uid}, $u, "$lane, $how: id $u");
            is($f->{variant}, $variant{$u}, "$lane, $how: ${u}'s variant");
            is($f->{uid_new}, '', "$lane, $how: not a new visitor");
            ok(!$r->{h}{'set-cookie'}, "$lane, $how: no Set-Cookie");
        }
    }

    # a new visitor: the id cookie, and the id again on the next request
    my $r = curl($lane, '/x');
    my $f = fields($r);
    is($f->{uid_new}, '1', "$lane: new visitor");
    my ($sc) = @{$r->{h}{'set-cookie'} // []};
    my $c = ABNginx::parse_set_cookie($sc // '');
    ok($c && $c->{name} eq 'abid' && $c->{value} eq $f->{uid},
        "$lane: Set-Cookie carries the new id") or diag($r->{raw});
    my $again = fields(curl($lane, '/x', 'cookie: pre=1',
        'cookie: abid=' . ($c ? $c->{value} : '')));
    is($again->{uid}, $f->{uid}, "$lane: the set id comes back");
    is($again->{variant}, $f->{variant}, "$lane: with the same variant");

    # a client's X-AB-* headers never reach the configuration
    # a sticky experiment: its cookie is set, and read back from a cookie
    # field of its own
    $r = curl($lane, '/s', "cookie: abid=$uids[1]");
    my ($st) = grep { $_ && $_->{name} eq 'abid_s' }
        map { ABNginx::parse_set_cookie($_) } @{$r->{h}{'set-cookie'} // []};
    ok($st && $r->{body} =~ /^[ab]$/, "$lane: a sticky experiment sets abid_s")
        or diag($r->{raw});
    my $back = curl($lane, '/s', "cookie: abid=$uids[1]",
        'cookie: abid_s=' . ($st ? $st->{value} : ''));
    ok($back->{body} eq $r->{body} && !$back->{h}{'set-cookie'},
        "$lane: the stored variant comes back, no new cookie")
        or diag($back->{raw});

    $f = fields(curl($lane, '/x', "cookie: abid=$uids[0]",
        'x-ab-uid: FORGED', 'x-other: kept'));
    is($f->{forged}, '', "$lane: a client's X-AB-Uid is stripped");
    is($f->{other}, 'kept', "$lane: other headers arrive");
    is($f->{uid}, $uids[0], "$lane: and the id is the cookie's");

    # the storefront's event header is captured and never reaches the
    # client
    my $o = 'o-' . ($lane =~ tr/a-zA-Z0-9//cdr);
    $r = curl($lane, "/buy?o=$o", "cookie: abid=$uids[0]");
    is($r->{status}, 200, "$lane: the upstream answers") or diag($r->{raw});
    ok(!$r->{h}{'x-ab-event'}, "$lane: X-AB-Event is stripped")
        or diag($r->{raw});
    event_logged($lane, $want_protocol{$lane}, $uids[0], $o);
}

# The client really sent separate fields: nginx's debug log shows each
# cookie field of the HTTP/2 HEADERS frame on its own.
SKIP: {
    skip "$ABNginx::NGINX is built without --with-debug", 1 unless $debug;
    my $log = $t->read_file('debug.log') // '';
    my @fields = $log =~ /http2 header: "cookie: ([^"]*)"/g;
    ok((grep { $_ eq 'pre=1' } @fields) && (grep { $_ eq "abid=$uids[0]" } @fields),
        'curl sent the cookies as separate HTTP/2 fields')
        or diag(scalar(@fields) . ' cookie fields logged');
}

# One request over HTTP/3 with ngtcp2's client, which prints the response
# headers as "http: stream 0x0 [name: value]" and the body as a hex dump.
sub h3 {
    my ($path) = @_;
    my $port = $t->port(2);
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec('timeout', '20', 'gtlsclient', '--exit-on-all-streams-close',
            '--no-quic-dump', '--timeout=10s', '127.0.0.1', $port,
            "https://127.0.0.1:$port$path") or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my (%h, $status, $body);
    for (split /\n/, $out) {
        if (/^http: stream 0x0 \[:status: (\d+)\]/) {
            $status = $1;
        } elsif (/^http: stream 0x0 \[([^:\]][^:]*): (.*)\]$/) {
            push @{$h{lc $1}}, $2;
        } elsif (/^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2})+)/) {
            $body .= pack('H*', $1 =~ tr/ //dr);
        }
    }
    return { status => $status // 0, h => \%h, body => $body // '',
        raw => $out };
}

# New visitors over HTTP/3: each gets an id cookie and, for that id, the
# variant HTTP/1.1 gives it; the storefront's event header is stripped.
sub h3_new_visitors {
    my %seen;
    for my $i (1 .. 4) {
        my $r = h3('/x');
        my %f;
        @f{qw(variant uid uid_new forged other protocol)} = split /\|/,
            ($r->{body} =~ s/\n\z//r), -1;
        is($r->{status}, 200, "HTTP/3 request $i: 200") or diag($r->{raw});
        is($f{protocol}, 'HTTP/3.0', "HTTP/3 request $i: spoken");
        is($f{uid_new}, '1', "HTTP/3 request $i: a new visitor");
        my $c = ABNginx::parse_set_cookie($r->{h}{'set-cookie'}[0] // '');
        ok($c && $c->{name} eq 'abid' && $c->{value} eq $f{uid},
            "HTTP/3 request $i: Set-Cookie carries the new id")
            or diag($r->{raw});
        my $h1 = fields($t->get('/x', "Cookie: abid=$f{uid}"));
        is($f{variant}, $h1->{variant},
            "HTTP/3 request $i: HTTP/1.1 gives $f{uid} the same variant");
        $seen{$f{uid}}++;
    }
    is(scalar(keys %seen), 4, 'HTTP/3: every new visitor got its own id');

    my $r = h3('/buy?o=o-h3');
    is($r->{status}, 200, 'HTTP/3: the upstream answers') or diag($r->{raw});
    ok(!$r->{h}{'x-ab-event'}, 'HTTP/3: X-AB-Event is stripped')
        or diag($r->{raw});
    my $c = ABNginx::parse_set_cookie($r->{h}{'set-cookie'}[0] // '');
    event_logged('HTTP/3', 'HTTP/3.0', $c ? $c->{value} : '?', 'o-h3');
}

SKIP: {
    skip "$ABNginx::NGINX has no HTTP/3 (--with-http_v3_module, 1.25+)", 2
        unless $nginx_h3;
    # nginx holds the UDP port: a second bind fails
    my $udp = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
        LocalPort => $t->port(2));
    ok(!$udp, 'HTTP/3: nginx listens for QUIC beside the module');
    skip 'HTTP/3 requests not tested: neither curl (curl -V: no HTTP3; '
        . "Debian 12's curl 7.88.1 has none) nor ngtcp2's gtlsclient (apt-get "
        . 'install ngtcp2-client) is here, only that nginx serves the module '
        . 'beside a QUIC listener', 1 unless $curl_h3 || $gtls;
    if ($curl_h3) {
        my ($base) = @{$url{'h2 (TLS)'}};
        my $out = `curl -sS --http3-only --cacert $cert -H 'cookie: pre=1' -H 'cookie: abid=$uids[0]' $base/x 2>&1`;
        my @f = split /\|/, $out;
        is_deeply([@f[0, 1]], [$variant{$uids[0]}, $uids[0]],
            'HTTP/3 (curl): the same id and variant') or diag($out);
    }
    h3_new_visitors() if $gtls;
}

ABNginx::finish();

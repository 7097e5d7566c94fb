#!/usr/bin/perl
# Issue 16, "HTTP/2 and HTTP/3": the module over HTTP/2 with a real client
# (Debian's curl), cleartext with prior knowledge (h2c) and over TLS with a
# certificate made here. A browser sends its cookies over HTTP/2 as several
# `cookie` fields; nginx joins them, and the visitor gets the same id and
# variant as over HTTP/1.1 (one Cookie header, or several). A new visitor
# gets the id cookie, a sticky experiment's cookie is set and read back,
# and a client's X-AB-* request headers are stripped, on every protocol. HTTP/3: nginx built with it serves the module beside
# a QUIC listener; requests over HTTP/3 need a curl built with it, which
# Debian 12's is not (the test says so and skips those).
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
    location /x {
        ab e;
        return 200 "$ab_e|$ab_uid|$ab_uid_new|$http_x_ab_uid|$http_x_other|$server_protocol\n";
    }
    location /s { ab s; return 200 "$ab_s"; }
EOF
chmod 0600, $t->write_file('sticky.key', "00112233445566778899aabbccddeeff\n");
$t->write_config(<<"EOF")->start;
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

SKIP: {
    skip "$ABNginx::NGINX has no HTTP/3 (--with-http_v3_module, 1.25+)", 2
        unless $nginx_h3;
    # nginx holds the UDP port: a second bind fails
    my $udp = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
        LocalPort => $t->port(2));
    ok(!$udp, 'HTTP/3: nginx listens for QUIC beside the module');
    skip "HTTP/3 requests not tested: curl is built without HTTP3 (curl -V; "
        . "Debian 12's curl 7.88.1 is), only that nginx serves the module "
        . 'beside a QUIC listener', 1 unless $curl_h3;
    my ($base) = @{$url{'h2 (TLS)'}};
    my $out = `curl -sS --http3-only --cacert $cert -H 'cookie: pre=1' -H 'cookie: abid=$uids[0]' $base/x 2>&1`;
    my @f = split /\|/, $out;
    is_deeply([@f[0, 1]], [$variant{$uids[0]}, $uids[0]],
        'HTTP/3: the same id and variant') or diag($out);
}

ABNginx::finish();

#!/usr/bin/perl
# The test harness itself, without the module: start, requests (single,
# pipelined, raw), reload, nginx -t, the log helpers and the statistics.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(chi2_sf chi2_test http_request parse_set_cookie);

my $t = ABNginx->new(module => 0);

my $http = <<'EOF';
log_format plain escape=json '{"uri":"$request_uri","ua":"$http_user_agent","gen":"$gen"}';
access_log %%DIR%%/access.log plain;
server {
    listen 127.0.0.1:%%PORT%%;
    set $gen GEN;
    location / { return 200 "gen=GEN uri=$request_uri\n"; }
    location /cookie {
        add_header Set-Cookie "a=1; Max-Age=10; Path=/; HttpOnly";
        add_header Set-Cookie "b=2";
        return 200 "";
    }
    location /echo { return 200 "cookie=$http_cookie length=$http_content_length\n"; }
    location /chunked { proxy_pass http://127.0.0.1:%%PORT_1%%/; proxy_http_version 1.1; proxy_buffering off; }
    location /notfound { root %%DIR%%/empty; }
}
server {
    listen 127.0.0.1:%%PORT_1%%;
    location / { return 200 "backend\n"; }
}
EOF
(my $conf1 = $http) =~ s/GEN/1/g;
(my $conf2 = $http) =~ s/GEN/2/g;

my ($out, $rc) = do { $t->write_config($conf1); $t->test_config };
is($rc, 0, 'nginx -t passes') or diag($out);
like($out, qr/test is successful/, 'nginx -t output');
like($t->read_file('nginx.conf'), qr/^pid \Q${\ $t->dir}\E\/nginx\.pid;/m,
    'pid in the test directory');
unlike($t->read_file('nginx.conf'), qr/load_module/, 'no module loaded');

$t->start;
my $r = $t->get('/hello?x=1');
is($r->{status}, 200, 'GET status');
is($r->{body}, "gen=1 uri=/hello?x=1\n", 'GET body');

$r = $t->get('/cookie');
my @sc = ABNginx::header_values($r, 'Set-Cookie');
is(scalar @sc, 2, 'two Set-Cookie headers');
my $c = parse_set_cookie($sc[0]);
is_deeply([$c->{name}, $c->{value}, $c->{attrs}{'max-age'}, $c->{order}],
    ['a', '1', '10', ['Max-Age', 'Path', 'HttpOnly']], 'parse_set_cookie');

$r = $t->get('/chunked');
is($r->{body}, "backend\n", 'proxied response');

$r = $t->get('/notfound/x');
is($r->{status}, 404, 'not found');

# HTTP::Tiny: headers sent as given, a POST's body, requests in order
$r = $t->get('/echo', 'Cookie: x=1', ['Cookie', 'y=2']);
is($r->{body}, "cookie=x=1; y=2 length=\n", 'get: repeated headers in order');
$r = $t->post('/echo', 'a=b&c=d', 'Content-Type: text/plain');
is($r->{body}, "cookie= length=7\n", 'post: the body sent');
my $all = $t->get_all([map { ["/o/$_"] } 1 .. 50], conn => 'other');
is_deeply([map { $_->{body} } @$all], [map { "gen=1 uri=/o/$_\n" } 1 .. 50],
    'get_all: responses in order');

# a visitor keeps the cookies it is set and sends them back
my $v = $t->visitor;
is($v->cookie('a'), undef, 'visitor: no cookie at first');
$v->get('/cookie');
is($v->cookie('a'), '1', 'visitor: keeps the cookie it was set');
my ($sent) = $v->get('/echo')->{body} =~ /^cookie=(.*) length=/;
is(join(' ', sort split /; /, $sent // ''), 'a=1 b=2',
    'visitor: sends its cookies back');

# pipelining: many requests, in order
my $n = 20000;
my $t0 = time;
my $resp = $t->pipeline([map { http_request("/p/$_") } 1 .. $n]);
is(scalar @$resp, $n, "$n pipelined responses");
my $bad = grep { $resp->[$_ - 1]{body} ne "gen=1 uri=/p/$_\n" } 1 .. $n;
is($bad, 0, 'pipelined responses in order');
diag(sprintf "%d requests in %ds", $n, time - $t0) if $ENV{TEST_VERBOSE};

# a request the server rejects, on its own connection
$r = $t->raw("GET /bad\x00 HTTP/1.1\r\nHost: x\r\n\r\n");
is($r && $r->{status}, 400, 'raw request rejected with 400');

# the keep-alive connection survives a connection the server closed
$r = $t->get('/after');
is($r->{body}, "gen=1 uri=/after\n", 'request after a rejected one');

# reload: new workers, old ones gone
my @old = $t->worker_pids;
ok(@old >= 1, 'worker running');
ok($t->reload($conf2), 'reload');
my %old = map { $_ => 1 } @old;
ok(!(grep { $old{$_} } $t->worker_pids), 'old workers gone after reload');
is($t->get('/x')->{body}, "gen=2 uri=/x\n", 'new configuration after reload');

# a reload with a broken configuration does not replace the workers (on
# an instance of its own: the [emerg] is expected there)
my $b = ABNginx->new(module => 0)->expect_emerg;
(my $conf3 = $conf1) =~ s/access_log [^;]*;/access_log off;/;
$b->write_config($conf3)->start;
ok(!$b->reload("$conf3\nbroken;", timeout => 1), 'failed reload detected');
is($b->get('/y')->{body}, "gen=1 uri=/y\n", 'old configuration still serves');
like($b->error_log, qr/\[emerg\] \d+#\d+: unknown directive "broken"/,
    'the failed reload is in error.log');
ok($b->reload($conf3), 'reload with a good configuration again');
$b->stop;

# log helpers
# requests so far (the proxied one twice), HTTP::Tiny's 54 included
my $want = 5 + 54 + $n + 3;
is($t->wait_log($want), $want, 'one log line per request');
$t->mark_log;
# raw: HTTP::Tiny refuses to send the control bytes this is about
$t->raw(http_request("/log\"q", 'User-Agent: a"b\\c' . "\x01\xff"));
my ($j) = $t->log_json(new => 1, count => 1);
is($j->{ua}, "a\"b\\c\x01\xff", 'log line decoded back to the raw bytes');
is($j->{gen}, '2', 'log line of the new generation');

# a port taken by someone else before nginx binds it: new ports are picked
my $sq = ABNginx->new(module => 0);
$sq->write_config("server { listen 127.0.0.1:%%PORT%%; return 200 'c'; }",
    access_log => 'off');
my $taken = $sq->port(0);
my $squatter = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
    LocalPort => $taken, Listen => 1, ReuseAddr => 1) or die "bind: $!";
$sq->start;
isnt($sq->port(0), $taken, 'start picked another port');
is($sq->get('/')->{body}, 'c', 'and serves on it');
$sq->stop;
close $squatter;

# nginx -t output for a broken configuration
my $u = ABNginx->new(module => 0)->expect_emerg;
$u->write_config("server { listen 127.0.0.1:%%PORT%%; frobnicate on; }");
($out, $rc) = $u->test_config;
isnt($rc, 0, 'nginx -t fails on an unknown directive');
like($out, qr/\[emerg\] unknown directive "frobnicate" in \Q${\ $u->conf_path}\E:\d+/,
    'nginx -t message with file and line');

# chi-square upper tail against known values (and scipy when available)
my @known = ([3.841458820694124, 1, 0.05], [5.991464547107979, 2, 0.05],
    [13.815510557964274, 2, 0.001], [10.827566170662733, 1, 0.001],
    [0.5, 1, 0.4795001221869535], [30, 10, 0.000856641210775301],
    [1e-6, 3, 0.9999999997340385], [120, 100, 0.08440668109369177], [2, 2, exp(-1)]);
for my $k (@known) {
    my $p = chi2_sf($k->[0], $k->[1]);
    ok(abs($p - $k->[2]) < 1e-9 * ($k->[2] > 1e-3 ? 1 : $k->[2] * 1e3),
        "chi2_sf($k->[0], $k->[1]) = $k->[2]") or diag("got $p");
}
SKIP: {
    my $py = '/usr/bin/python3';
    skip 'no scipy', 1
        if system("$py -c 'import scipy.stats' >/dev/null 2>&1") != 0;
    my @xs = map { [$_ * 0.37, 1 + $_ % 5] } 1 .. 60;
    my $q = join ',', map { "($_->[0],$_->[1])" } @xs;
    my @sp = split /\n/, `$py -c 'from scipy.stats import chi2
for x, d in [$q]: print(repr(chi2.sf(x, d)))'`;
    my $worst = 0;
    for my $i (0 .. $#xs) {
        my $rel = abs(chi2_sf(@{$xs[$i]}) - $sp[$i]) / $sp[$i];
        $worst = $rel if $rel > $worst;
    }
    ok($worst < 1e-10, "chi2_sf agrees with scipy (worst relative $worst)");
}
my ($stat, $df, $p) = chi2_test([5000, 5000], [0.5, 0.5]);
is_deeply([$stat, $df, $p], [0, 1, 1], 'chi2_test of a perfect split');
($stat, $df, $p) = chi2_test([5200, 4800], [0.5, 0.5]);
ok(abs($stat - 16) < 1e-9 && $p < 0.001, 'chi2_test of a skewed split');

ABNginx::finish();

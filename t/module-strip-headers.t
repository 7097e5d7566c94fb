#!/usr/bin/perl
# Issue 12, "Request headers that impersonate the edge"
# (README "ab_strip_request_headers", SECURITY.md "The client"): a client's
# X-AB-* request headers never reach the storefront, whatever the
# location's proxy_set_header list (the cache.conf pattern: a location
# with headers of its own drops the server's X-AB-Uid $ab_uid), so a forged
# X-AB-Uid is never cached for other visitors; names match whatever their
# case; the edge's own X-AB-* headers still arrive; SCGI (a peer that
# echoes its HTTP_* parameters) loses them as proxy does, and so does
# every variable of the configuration, and gRPC (nginx as an HTTP/2 peer)
# likewise; a custom prefix list and "off";
# configuration errors name the directive and the value.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use ABNginx;

my $t = ABNginx->new->require_module;

# An SCGI peer: answers each request with the HTTP_X_* parameters nginx
# sent, sorted, one per line.
my $scgi = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "scgi: $!";
my $scgi_port = $scgi->sockport;
my $peer = fork // die "fork: $!";
if ($peer == 0) {
    local $SIG{ALRM} = sub { exit 0 };
    alarm 120;
    while (my $c = $scgi->accept) {
        my $len = '';
        while (sysread($c, my $ch, 1)) { last if $ch eq ':'; $len .= $ch }
        my $net = '';
        while (length $net < $len + 1) {
            sysread($c, my $buf, $len + 1 - length $net) or last;
            $net .= $buf;
        }
        # name\0value\0 pairs: -1 keeps an empty value (HTTP::Tiny sends an
        # empty User-Agent), the pop drops what follows the last \0
        my @kv = split /\0/, substr($net, 0, $len), -1;
        pop @kv;
        my %p = @kv;
        my $body = join '', map { "$_=$p{$_}\n" } sort grep { /^HTTP_X_/ } keys %p;
        print {$c} "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n$body";
        close $c;
    }
    exit 0;
}
close $scgi;

$t->write_config(<<"EOF", access_log => 0)->start;
ab_experiment product_page { variant control 50%; variant reviews_first 50%; }
proxy_cache_path %%DIR%%/cache levels=1:2 keys_zone=ab_pages:1m inactive=1m;

# the edge, as in checkout-experiment.conf + cache.conf
server {
    listen 127.0.0.1:%%PORT%%;
    underscores_in_headers on;
    proxy_set_header X-AB-Uid \$ab_uid;

    location /product/ {
        ab product_page;
        proxy_cache         ab_pages;
        proxy_cache_key     "\$request_uri|\$ab_product_page";
        proxy_cache_valid   200 5m;
        proxy_set_header    X-AB-Product-Page \$ab_product_page;
        add_header          X-Cache-Status \$upstream_cache_status always;
        proxy_pass          http://127.0.0.1:%%PORT_1%%/echo;
    }
    location /inherit/ {
        ab product_page;
        proxy_pass http://127.0.0.1:%%PORT_1%%/echo;
    }
    location /scgi/ {
        include /etc/nginx/scgi_params;
        scgi_param HTTP_X_AB_UID \$ab_uid;
        scgi_pass 127.0.0.1:$scgi_port;
    }
    location /grpc/ {
        grpc_set_header X-AB-Uid \$ab_uid;
        grpc_pass grpc://127.0.0.1:%%PORT_3%%;
    }
    location /var/ {
        return 200 "uid=\$http_x_ab_uid debug=\$http_x_ab_debug other=\$http_x_other\n";
    }
}

# a gRPC peer: nginx itself over cleartext HTTP/2, echoing the headers
server {
    listen 127.0.0.1:%%PORT_3%% http2;
    ab_strip_request_headers off;
    location / {
        return 200 "uid=\$http_x_ab_uid debug=\$http_x_ab_debug other=\$http_x_other\n";
    }
}

# a prefix list of its own
server {
    listen 127.0.0.1:%%PORT_2%%;
    ab_strip_request_headers X-AB- X-Internal-;
    location / { proxy_pass http://127.0.0.1:%%PORT_1%%/echo; }
}

# the storefront: echoes what it received; a server that trusts clients
# (off), or it would strip the edge's headers too
server {
    listen 127.0.0.1:%%PORT_1%%;
    ab_strip_request_headers off;
    location /echo {
        return 200 "uid=\$http_x_ab_uid page=\$http_x_ab_product_page debug=\$http_x_ab_debug internal=\$http_x_internal_role other=\$http_x_other\n";
    }
}
EOF

sub echo_of {
    my ($body) = @_;
    return { map { split /=/, $_, 2 } split ' ', $body // '' };
}

my $forger = 'forging-visitor-00000001';
my $r = $t->get('/product/1', "Cookie: abid=$forger",
    'X-AB-Uid: FORGED-<b>x</b>', 'X-AB-Debug: 1', 'X-Other: kept');
is($r->{status}, 200, 'cache.conf pattern: 200');
my $e = echo_of($r->{body});
is($e->{uid}, '', 'a forged X-AB-Uid does not reach the storefront');
is($e->{debug}, '', 'nor any other X-AB-* header');
like($e->{page}, qr/^(control|reviews_first)$/,
    "the edge's own X-AB-Product-Page arrives");
is($e->{other}, 'kept', 'other headers arrive');

# four other visitors get the cached page: nothing of the forger in it
for my $i (1 .. 4) {
    my $u = sprintf('other-visitor-%010d', $i);
    my $o = $t->get('/product/1', "Cookie: abid=$u");
    unlike($o->{body}, qr/FORGED/, "visitor $i: no forged id in the page");
}

# any case of the name, '_' for '-' (underscores_in_headers on: nginx
# reads X_AB_Uid as $http_x_ab_uid, fastcgi as HTTP_X_AB_UID)
for my $name ('x-ab-uid', 'X-Ab-Uid', 'X-AB-UID', 'X_AB_Uid', 'x_ab-uid') {
    my $o = echo_of($t->get('/product/2', "Cookie: abid=$forger",
        "$name: FORGED")->{body});
    is($o->{uid}, '', "$name: removed");
}
# several copies, and between other headers
$r = $t->get('/product/3', "Cookie: abid=$forger", 'X-Other: a',
    'X-AB-Uid: F1', 'X-AB-Uid: F2', 'X-AB-Debug: 2');
$e = echo_of($r->{body});
is("$e->{uid}|$e->{debug}|$e->{other}", '||a',
    'several X-AB-* copies between others: all removed, the others kept');

# where the server's proxy_set_header is inherited the edge's value wins
$r = $t->get('/inherit/1', "Cookie: abid=$forger", 'X-AB-Uid: FORGED');
is(echo_of($r->{body})->{uid}, $forger,
    "inherited proxy_set_header: the edge's X-AB-Uid arrives");

# SCGI: the client's header is not turned into HTTP_X_AB_* parameters
$r = $t->get('/scgi/1', "Cookie: abid=$forger", 'X-AB-Debug: 1', 'X_AB_Role: x',
    'X-AB-Uid: FORGED', 'X-Other: kept');
is($r->{status}, 200, 'scgi: 200');
unlike($r->{body}, qr/HTTP_X_AB_DEBUG/, 'scgi: the client X-AB-Debug is gone');
unlike($r->{body}, qr/HTTP_X_AB_ROLE/, 'scgi: X_AB_Role (underscores) is gone');
unlike($r->{body}, qr/FORGED/, 'scgi: the forged id is gone');
like($r->{body}, qr/^HTTP_X_OTHER=kept$/m, 'scgi: other headers arrive');

# gRPC: the client's headers are not sent over HTTP/2, the edge's are
$r = $t->get('/grpc/1', "Cookie: abid=$forger", 'X-AB-Debug: 1',
    'X-AB-Uid: FORGED', 'X-Other: kept');
is($r->{status}, 200, 'grpc: 200');
$e = echo_of($r->{body});
is("$e->{uid}|$e->{debug}|$e->{other}", "$forger||kept",
    "grpc: the forged id and X-AB-Debug are gone, the edge's X-AB-Uid and "
    . 'other headers arrive');

# variables of the configuration never see them either
$r = $t->get('/var/', 'X-AB-Uid: FORGED', 'X-AB-Debug: 1', 'X-Other: o');
is($r->{body}, "uid= debug= other=o\n",
    '$http_x_ab_* is empty: no map, condition or module sees the client copy');

# a prefix list
$r = $t->get_all([['/x', 'X-AB-Debug: 1',
    'X-Internal-Role: admin', 'X-Other: o']], port => $t->port(2))->[0];
$e = echo_of($r->{body});
is("$e->{debug}|$e->{internal}|$e->{other}", '||o',
    'ab_strip_request_headers X-AB- X-Internal-: both prefixes removed');

# off: the storefront server above received the edge's headers; a client
# talking to it directly keeps its own
$r = $t->get_all([['/echo', 'X-AB-Debug: 1']],
    port => $t->port(1))->[0];
is(echo_of($r->{body})->{debug}, 1, 'off: headers are left alone');

$t->stop;
kill 'TERM', $peer;
waitpid($peer, 0);

# configuration errors
my $t2 = ABNginx->new->require_module->expect_emerg;
for my $case (
    ['ab_strip_request_headers "X-AB- x";',
        'invalid header prefix "X-AB- x" in "ab_strip_request_headers" directive'],
    ['ab_strip_request_headers X-AB- off;',
        'invalid header prefix "off" in "ab_strip_request_headers" directive'],
    ['ab_strip_request_headers X:Y;',
        'invalid header prefix "X:Y" in "ab_strip_request_headers" directive'],
    ["ab_strip_request_headers off;\nab_strip_request_headers X-AB-;",
        '"ab_strip_request_headers" directive is duplicate'],
    ["server { listen 127.0.0.1:%%PORT%%; location / { ab_strip_request_headers off; } }",
        '"ab_strip_request_headers" directive is not allowed here'],
) {
    my ($http, $msg) = @$case;
    my ($out, $rc) = $t2->write_config($http)->test_config;
    isnt($rc, 0, "nginx -t fails: $http");
    like($out, qr/\[emerg\] (?:\d+#\d+: )?\Q$msg\E in /, "the message: $msg")
        or diag($out);
}
for my $ok ('ab_strip_request_headers off;', 'ab_strip_request_headers X-AB-;',
    'ab_strip_request_headers X-AB- X-Edge- X_Internal;',
    "server { listen 127.0.0.1:%%PORT%%; ab_strip_request_headers X-Edge-; }",
    "server { listen 127.0.0.1:%%PORT%%; ab_strip_request_headers off; }")
{
    my ($out, $rc) = $t2->write_config($ok)->test_config;
    is($rc, 0, "valid: $ok") or diag($out);
}

ABNginx::finish();

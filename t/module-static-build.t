#!/usr/bin/perl
# The module compiled statically into upstream nginx (--add-module): the
# build succeeds, and the resulting nginx assigns, sets the cookie and logs
# exactly like Debian's nginx with the dynamic module.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use ABNginx;

my $repo = $ABNginx::REPO;
my $src = `$repo/scripts/fetch-nginx-source $repo/build/upstream 2>&1`;
plan(skip_all => "upstream nginx source not available: $src")
    if $? != 0;

my $out = `$repo/scripts/build-static $repo/build/static 2>&1`;
is($?, 0, 'static build with --add-module succeeds') or diag($out);
my ($bin) = $out =~ m{^(/\S+/objs/nginx)$}m;
ok($bin && -x $bin, 'nginx binary built') or BAIL_OUT('no static nginx');

my $v = `$bin -V 2>&1`;
like($v, qr/--add-module=\Q$repo\E/, 'nginx -V names the module');

my $uid = 'static0123456789abcdef';
my $conf = <<'EOF';
ab_experiment e { salt s; variant a 50%; variant b 50%; }
server {
    listen 127.0.0.1:%%PORT%%;
    location /x { ab e; return 200 "$ab_e|$ab_uid|$ab_exposures"; }
}
EOF

my %seen;
for my $which ('static', 'dynamic') {
    local $ABNginx::NGINX = $which eq 'static' ? $bin : $ABNginx::NGINX;
    my $t = ABNginx->new(module => $which eq 'dynamic' ? 1 : 0);
    $t->write_config($conf, access_log => 1)->start;

    my $r = $t->get('/x', "Cookie: abid=$uid");
    is($r->{status}, 200, "$which: 200");
    my ($variant, $got_uid, $exp) = split /\|/, $r->{body};
    is($got_uid, $uid, "$which: id from the cookie");
    is($exp, "e:$variant", "$which: exposure recorded");
    $seen{$which} = $variant;

    my $fresh = $t->get('/x');
    my ($sc) = ABNginx::header_values($fresh, 'Set-Cookie');
    my $c = ABNginx::parse_set_cookie($sc // '');
    ok($c && $c->{name} eq 'abid' && length $c->{value} == 32,
        "$which: new visitor gets a cookie");
    $t->stop_and_check;
}

is($seen{static}, $seen{dynamic}, 'static and dynamic builds agree');

done_testing;

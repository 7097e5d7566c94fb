#!/usr/bin/perl
# Exposures: $ab_exposures (and the logged "exposures") lists exactly the
# experiments of the ab directive that applies, enrolled visitors only, in
# order, each once; $ab_<exp> works everywhere. Inheritance into nested
# locations, replacement, ab off, server-level ab. Internal redirects
# (error_page, try_files, rewrite) and subrequests keep the same id and
# mint at most once.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(reference_assign set_cookies header_values);

my $t = ABNginx->new->require_module->require_reference;

my %EXP = (
    e1 => ['100%', ['a', 'b'], '50%,50%'],
    e2 => ['50%', ['x', 'y'], '1,1'],
    e3 => ['100%', ['p', 'q'], '10%,90%'],
);
my $B = '"$ab_uid|$ab_uid_new|$ab_e1|$ab_e2|$ab_e3|$ab_exposures"';

$t->write_config(<<"EOF")->start;
ab_experiment e1 { variant a 50%; variant b 50%; }
ab_experiment e2 { traffic 50%; variant x 1; variant y 1; }
ab_experiment e3 { salt e3salt; variant p 10%; variant q 90%; }
ab_experiment e4 { variant only 1; variant never 0; }

server {
    listen 127.0.0.1:%%PORT%%;
    location /none  { return 200 $B; }
    location /one   { ab e1; return 200 $B; }
    location /order { ab e3 e2 e1; return 200 $B; }
    location /parent {
        ab e1;
        location /parent/child { return 200 $B; }
        location /parent/own   { ab e2; return 200 $B; }
        location /parent/off   { ab off; return 200 $B; }
        location /parent/deep  { location /parent/deep/er { return 200 $B; } }
        return 200 $B;
    }
    location /off   { ab off; return 200 $B; }

    # internal redirects
    location /ep    { ab e1; error_page 404 = /fb; return 404; }
    location /ep1   { ab e1; error_page 404 = /fb1; return 404; }
    location /epn   { error_page 404 = /fb; return 404; }
    location /fb    { ab e2; return 200 $B; }
    location /fb1   { ab e1 e2; return 200 $B; }
    location /fbn   { return 200 $B; }
    location /tf    { ab e1; try_files /nonexistent \@named; }
    location \@named { return 200 $B; }
    location /rw    { ab e1; rewrite ^ /fbn last; }
    location /rwn   { rewrite ^ /fb last; }

    # a subrequest (auth_request) sees the main request's id
    location /sub {
        ab e3;
        auth_request /auth;
        auth_request_set \$sub_uid \$upstream_http_x_uid;
        auth_request_set \$sub_e3 \$upstream_http_x_e3;
        root %%DIR%%/www;
        add_header X-Result "\$ab_uid|\$ab_uid_new|\$ab_e3|\$sub_uid|\$sub_e3";
    }
    location = /auth {
        internal;
        proxy_pass http://127.0.0.1:%%PORT_1%%/echo;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header Cookie "";
        proxy_set_header X-Uid \$ab_uid;
        proxy_set_header X-E3 \$ab_e3;
    }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    ab e3;
    location /     { return 200 $B; }
    location /loc  { ab e1 e4; return 200 $B; }
    location /off  { ab off; return 200 $B; }
    location /echo {
        ab off;
        add_header X-Uid \$http_x_uid;
        add_header X-E3 \$http_x_e3;
        return 204;
    }
}
EOF

mkdir $t->dir . '/www';
$t->write_file('www/sub', "static\n");

# visitors with known ids
srand(20261123);
my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', '_', '-');
my @uids = map { join '', map { $chars[rand @chars] } 1 .. 16 + int(rand 20) }
    1 .. 40;

my %want;    # uid -> exp -> variant ('' when not enrolled)
my @q = map { my $u = $_; map { [$u, $_ eq 'e3' ? 'e3salt' : $_, $EXP{$_}[0],
    $EXP{$_}[2]] } sort keys %EXP } @uids;
for my $r (reference_assign(@q)) {
    (my $e = $r->{salt}) =~ s/salt$//;
    $want{$r->{uid}}{$e} = $r->{variant_index} < 0 ? ''
        : $EXP{$e}[1][$r->{variant_index}];
}
my $enrolled_e2 = grep { $want{$_}{e2} ne '' } @uids;
ok($enrolled_e2 > 5 && $enrolled_e2 < 35, "e2 enrols some visitors ($enrolled_e2 of 40)");

sub exposures {
    my ($uid, @exps) = @_;
    return join ',', map { "$_:$want{$uid}{$_}" } grep { $want{$uid}{$_} ne '' } @exps;
}

# [path, port index, experiments exposed there]
my @cases = (
    ['/none', 0, []],
    ['/one', 0, ['e1']],
    ['/order', 0, ['e3', 'e2', 'e1']],
    ['/parent', 0, ['e1']],
    ['/parent/child', 0, ['e1']],
    ['/parent/deep/er', 0, ['e1']],
    ['/parent/own', 0, ['e2']],
    ['/parent/off', 0, []],
    ['/off', 0, []],
    ['/', 1, ['e3']],
    ['/anything', 1, ['e3']],
    ['/loc', 1, ['e1', 'e4']],
    ['/off', 1, []],
);
$want{$_}{e4} = 'only' for @uids;

for my $c (@cases) {
    my ($path, $pi, $exps) = @$c;
    $t->mark_log;
    my $resp = $t->get_all([map { [$path, "Cookie: abid=$_"] } @uids],
        port => $t->port($pi));
    my @log = $t->log_json(new => 1, count => scalar @uids);
    my ($bad_body, $bad_log, @diag) = (0, 0);
    for my $i (0 .. $#uids) {
        my $u = $uids[$i];
        my $exp = exposures($u, @$exps);
        my $body = join '|', $u, '', map({ $want{$u}{$_} } qw(e1 e2 e3)), $exp;
        if ($resp->[$i]{body} ne $body) {
            $bad_body++;
            push @diag, "body: got '$resp->[$i]{body}', want '$body'";
        }
        my $l = $log[$i] || {};
        if (($l->{uid} // '') ne $u || ($l->{exposures} // '') ne $exp
            || ($l->{uid_new} // '') ne '')
        {
            $bad_log++;
            push @diag, "log: uid=" . ($l->{uid} // '') . " exposures='"
                . ($l->{exposures} // '') . "', want '$exp'";
        }
    }
    my $name = "port $pi $path (ab " . (join(' ', @$exps) || '-') . ')';
    is($bad_body, 0, "$name: \$ab_* and \$ab_exposures");
    is($bad_log, 0, "$name: logged exposures");
    diag(join "\n", @diag[0 .. ($#diag > 5 ? 5 : $#diag)]) if @diag;
}

# internal redirects: same id, one cookie, variants of that id
# [path, experiments that must be exposed, experiments that may be]
my @redirects = (
    ['/ep', ['e2'], ['e1']],
    ['/ep1', ['e1', 'e2'], []],
    ['/epn', ['e2'], []],
    ['/tf', [], ['e1']],
    ['/rw', [], ['e1']],
    ['/rwn', ['e2'], []],
);

# Checks an exposures string: the "must" experiments (when enrolled)
# present, nothing outside must+may, every pair with the reference
# variant, each experiment once.
sub exposures_ok {
    my ($got, $uid, $must, $may) = @_;
    my %allowed = map { $_ => 1 } @$must, @$may;
    my %seen;
    for my $pair (split /,/, $got) {
        my ($e, $v) = split /:/, $pair, 2;
        return "unexpected $pair" unless $e && $allowed{$e};
        return "$e twice" if $seen{$e}++;
        return "$pair, want $e:$want{$uid}{$e}" if ($v // '') ne $want{$uid}{$e};
    }
    for my $e (@$must) {
        return "$e missing" if $want{$uid}{$e} ne '' && !$seen{$e};
    }
    return '';
}

for my $c (@redirects) {
    my ($path, $must, $may) = @$c;

    # known visitors
    $t->mark_log;
    my $resp = $t->get_all([map { [$path, "Cookie: abid=$_"] } @uids]);
    my @log = $t->log_json(new => 1, count => scalar @uids);
    my ($bad, @diag) = (0);
    for my $i (0 .. $#uids) {
        my $u = $uids[$i];
        my ($bu, $bn, $b1, $b2, $b3, $bexp) = split /\|/, $resp->[$i]{body}, -1;
        my $err = $resp->[$i]{status} != 200 ? "status $resp->[$i]{status}"
            : ($bu ne $u || $bn ne '') ? "uid $bu new '$bn'"
            : ("$b1|$b2|$b3" ne join '|', map { $want{$u}{$_} } qw(e1 e2 e3))
                ? "variants $b1|$b2|$b3"
            : header_values($resp->[$i], 'set-cookie') ? 'Set-Cookie'
            : exposures_ok($bexp, $u, $must, $may)
            || exposures_ok($log[$i]{exposures}, $u, $must, $may)
            || ($log[$i]{exposures} ne $bexp ? "logged $log[$i]{exposures}" : '');
        if ($err) { $bad++; push @diag, "$path $u: $err ($resp->[$i]{body})" }
    }
    is($bad, 0, "$path: known visitors keep id and variants, exposures consistent");
    diag(join "\n", @diag[0 .. ($#diag > 5 ? 5 : $#diag)]) if @diag;

    # fresh visitors: one id minted once
    $t->mark_log;
    $resp = $t->get_all([([$path]) x 20]);
    @log = $t->log_json(new => 1, count => 20);
    ($bad, @diag) = (0);
    for my $i (0 .. 19) {
        my $r = $resp->[$i];
        my @sc = header_values($r, 'set-cookie');
        my ($bu, $bn) = split /\|/, $r->{body}, -1;
        my $err = $r->{status} != 200 ? "status $r->{status}"
            : @sc != 1 ? scalar(@sc) . ' Set-Cookie: ' . join(' / ', @sc)
            : $sc[0] !~ /^abid=\Q$bu\E;/ ? "cookie $sc[0] vs uid $bu"
            : $bn ne '1' ? "uid_new '$bn'"
            : ($log[$i]{uid} ne $bu || $log[$i]{uid_new} ne '1')
                ? "logged uid $log[$i]{uid} new $log[$i]{uid_new}" : '';
        if ($err) { $bad++; push @diag, "$path fresh: $err ($r->{body})" }
    }
    is($bad, 0, "$path: fresh visitors get one id, minted once");
    diag(join "\n", @diag[0 .. ($#diag > 5 ? 5 : $#diag)]) if @diag;
}

# the subrequest sees the main request's id and variant
for my $u (@uids[0 .. 4]) {
    my $r = $t->get('/sub', "Cookie: abid=$u");
    is($r->{h}{'x-result'}[0], "$u||$want{$u}{e3}|$u|$want{$u}{e3}",
        "auth_request subrequest: same id and variant ($u)");
}
my $r = $t->get('/sub');
my @sc = set_cookies($r);
my ($bu, $bn, $b3, $su, $s3) = split /\|/, $r->{h}{'x-result'}[0] // '', -1;
ok(@sc == 1 && $sc[0]{value} eq $bu && $bn eq '1' && $su eq $bu && $s3 eq $b3,
    'auth_request subrequest of a fresh visitor: one id')
    or diag($r->{raw});

ABNginx::finish();

#!/usr/bin/perl
# QA overrides (README "ab_force", "ab_force_allow"): a list
# exp:variant[,exp:variant] pins variants only where ab_force_allow is
# true (a map on a secret header; a geo block on 127.0.0.1); the forced
# exposure goes to $ab_forced, never $ab_exposures; $ab_<exp> shows the
# forced variant; unknown experiments or variants and malformed lists are
# ignored with a [warn] and never a 5xx; where forcing is not allowed the
# list is ignored silently.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(http_request reference_assign);
use ABLog qw(full_log log_ok error_mark error_since);

my $t = ABNginx->new->require_module->require_reference;

my $B = '"$ab_e1|$ab_e2|$ab_exposures|$ab_forced"';

$t->write_config(full_log() . <<"EOF", access_log => 0)->start;
ab_experiment e1 { variant a 50%; variant b 50%; }
ab_experiment e2 { salt e2-salt; variant x 1; variant y 1; variant z 1; }

# a secret header
map \$http_x_qa_token \$qa_ok {
    default "";
    "s3cret-token" 1;
    "zero" 0;
}

geo \$office { default 0; 127.0.0.1/32 1; }
geo \$elsewhere { default 0; 10.0.0.0/8 1; }

server {
    listen 127.0.0.1:%%PORT%%;
    ab_force \$http_x_qa_force;
    ab_force_allow \$qa_ok;
    location / { ab e1 e2; return 200 $B; }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    ab_force \$arg_ab_force;
    ab_force_allow \$office;
    location / { ab e1 e2; return 200 $B; }
    location /not-office { ab_force_allow \$elsewhere; ab e1 e2;
                           return 200 $B; }
    location /no-allow { ab_force_allow ""; ab e1 e2; return 200 $B; }
}

server {
    listen 127.0.0.1:%%PORT_2%%;
    ab_force \$arg_ab_force;
    location / { ab e1 e2; return 200 $B; }
}
EOF

my @E1 = qw(a b);
my @E2 = qw(x y z);

# natural variants of a few fixed visitors, from the reference
my @uids = map { sprintf('force-visitor-%06d', $_) } 1 .. 4;
my @ref1 = reference_assign(map { [$_, 'e1', '100%', '50%,50%'] } @uids);
my @ref2 = reference_assign(map { [$_, 'e2-salt', '100%', '1,1,1'] } @uids);
my (%nat1, %nat2);
for my $i (0 .. $#uids) {
    $nat1{$uids[$i]} = $E1[$ref1[$i]{variant_index}];
    $nat2{$uids[$i]} = $E2[$ref2[$i]{variant_index}];
}

my @expect_log;    # [uri marker, exposures, forced]

sub check {
    my ($name, $port, $uri, $uid, $headers, $want, %o) = @_;
    my ($e1, $e2, $exp, $forced) = @$want;
    error_mark($t);
    # the raw client: some force lists carry bytes HTTP::Tiny refuses to send
    my $r = $t->pipeline([http_request($uri, "Cookie: abid=$uid",
        @$headers)], port => $t->port($port))->[0];
    is($r->{status}, 200, "$name: 200");
    is($r->{body}, "$e1|$e2|$exp|$forced", "$name: e1|e2|exposures|forced");
    my @w = grep { /\[warn\]/ } split /\n/, error_since($t);
    if ($o{warn}) {
        {
            local $TODO = $o{todo_warn};
            is(scalar @w, 1, "$name: one [warn]") or diag(@w);
            like($w[0] // '', qr/force/i,
                "$name: the warning is about forcing");
        }
        ok(!grep({ length > 2048 } @w), "$name: warnings are short");
    } else {
        is(scalar @w, 0, "$name: no warning") or diag(@w);
    }
    push @expect_log, [$name, $exp, $forced];
}

my $ok = 'X-QA-Token: s3cret-token';
my $u = $uids[0];
my ($n1, $n2) = ($nat1{$u}, $nat2{$u});
my $natural = [$n1, $n2, "e1:$n1,e2:$n2", ''];

# allowed by the map: every variant can be pinned
for my $v (@E1) {
    check("map: force e1:$v", 0, '/', $u, [$ok, "X-QA-Force: e1:$v"],
        [$v, $n2, "e2:$n2", "e1:$v"]);
}
for my $v (@E2) {
    check("map: force e2:$v", 0, '/', $u, [$ok, "X-QA-Force: e2:$v"],
        [$n1, $v, "e1:$n1", "e2:$v"]);
}
check('map: force both', 0, '/', $u, [$ok, 'X-QA-Force: e2:z,e1:b'],
    ['b', 'z', '', 'e1:b,e2:z']);

# not allowed: ignored silently, even when malformed
check('map: no token', 0, '/', $u, ['X-QA-Force: e1:b,e2:z'], $natural);
check('map: wrong token', 0, '/', $u,
    ['X-QA-Token: guess', 'X-QA-Force: e1:b,e2:z'], $natural);
check('map: allow value "0"', 0, '/', $u,
    ['X-QA-Token: zero', 'X-QA-Force: e1:b,e2:z'], $natural);
check('map: not allowed, unknown experiment', 0, '/', $u,
    ['X-QA-Force: nope:a,e1:zz,:::'], $natural);

# unknown or malformed items: ignored with a warning, the rest honoured
my $other1 = $n1 eq 'a' ? 'b' : 'a';
my @bad = (
    ['unknown experiment', 'nope:a'],
    ['unknown variant', 'e1:c'],
    ['variant of another experiment', 'e1:x'],
    ['no colon', 'e1'],
    ['empty experiment', ':a'],
    ['empty variant', 'e1:'],
    ['two colons', 'e1:a:b'],
    ['colons only', ':::'],
    ['comma instead of colon', 'e1,b'],
    ['unicode', "e1:\xc3\xa4"],
    ['unicode experiment', "\xc3\xa91:a"],
    ['invalid UTF-8', "e1:\xff\xfe"],
    ['control characters', "e1:\x01a"],
    ['huge', 'e1:' . ('b' x 7000)],
    ['huge garbage', join(',', ('zz:qq') x 1300)],
);
for my $c (@bad) {
    my ($what, $list) = @$c;
    check("map: $what", 0, '/', $u, [$ok, "X-QA-Force: $list"], $natural,
        warn => 1);
    check("map: $what next to a valid item", 0, '/', $u,
        [$ok, "X-QA-Force: $list,e1:$other1"],
        [$other1, $n2, "e2:$n2", "e1:$other1"], warn => 1);
}
# Empty items are not mistakes (a list built by a script may end in a
# comma): a list of only commas is an empty list, ignored without a word.
check('map: commas only', 0, '/', $u, [$ok, 'X-QA-Force: ,,,,'],
    $natural);
check('map: empty items around a valid one', 0, '/', $u,
    [$ok, "X-QA-Force: ,,e1:$other1,,"],
    [$other1, $n2, "e2:$n2", "e1:$other1"]);

# geo on 127.0.0.1: allowed; a geo of other networks and "": not
for my $i (1 .. $#uids) {
    my $uid = $uids[$i];
    my ($m1, $m2) = ($nat1{$uid}, $nat2{$uid});
    my $o1 = $m1 eq 'a' ? 'b' : 'a';
    check("geo: force e1:$o1 ($uid)", 1, "/?ab_force=e1:$o1", $uid, [],
        [$o1, $m2, "e2:$m2", "e1:$o1"]);
    check("geo: other network ($uid)", 1,
        "/not-office?ab_force=e1:$o1", $uid, [],
        [$m1, $m2, "e1:$m1,e2:$m2", '']);
    check("geo: empty allow ($uid)", 1, "/no-allow?ab_force=e1:$o1", $uid,
        [], [$m1, $m2, "e1:$m1,e2:$m2", '']);
    check("no ab_force_allow at all ($uid)", 2, "/?ab_force=e1:$o1", $uid,
        [], [$m1, $m2, "e1:$m1,e2:$m2", '']);
}

# the log: exposures and forced apart, one JSON line per request
my @lines = log_ok($t, 'force lists', count => scalar @expect_log);
is(scalar @lines, scalar @expect_log, 'one log line per request');
is_deeply([map { "$_->{exposures}|$_->{forced}|$_->{status}" } @lines],
    [map { "$_->[1]|$_->[2]|200" } @expect_log],
    'logged exposures and forced of every request');

ABNginx::finish();

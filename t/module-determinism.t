#!/usr/bin/perl
# Determinism: the same visitors get the same variants before and after a
# reload (with the experiments declared in another order and another one
# added), and from a second, separate nginx instance with two workers; all
# as the reference implementation computes them.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(reference_assign header_values);

my $t = ABNginx->new->require_module->require_reference;

my %EXP = (
    d1 => ['d1', '100%', [qw(control one)], ['50%', '50%']],
    d2 => ['shared-salt', '45.5%', [qw(control one two)], ['1', '5', '3']],
    d3 => ['d3-2026', '100%', [qw(c t1 t2 t3 t4)], ['20%', '20%', '20%', '20%', '20%']],
);

sub config {
    my (@order) = @_;
    my $c = '';
    for my $n (@order) {
        my ($salt, $traffic, $vars, $w) = @{$EXP{$n} || ['extra', '50%', [qw(p q)], ['1', '1']]};
        $c .= "ab_experiment $n {\n    salt $salt;\n    traffic $traffic;\n";
        $c .= "    variant $vars->[$_] $w->[$_];\n" for 0 .. $#$vars;
        $c .= "}\n";
    }
    $c .= <<'EOF';
server {
    listen 127.0.0.1:%%PORT%% reuseport;
    location / { ab d1 d2 d3; return 200 "$ab_uid|$ab_d1|$ab_d2|$ab_d3"; }
}
EOF
    return $c;
}

srand(7);
my @chars = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', '_', '-');
my @uids = map { join '', map { $chars[rand @chars] } 1 .. 16 + int(rand 49) } 1 .. 3000;

sub ask {
    my ($inst, %o) = @_;
    my @resp;
    my $per = @uids / ($o{conns} || 1);
    for my $c (0 .. ($o{conns} || 1) - 1) {
        push @resp, @{$inst->get_all([map { ['/', "Cookie: abid=$_"] }
            @uids[$c * $per .. ($c + 1) * $per - 1]], conn => $c)};
    }
    my $bad = grep { header_values($_, 'set-cookie') } @resp;
    return ($bad, map { $_->{body} } @resp);
}

$t->write_config(config(qw(d1 d2 d3)))->start;
my ($bad, @first) = ask($t);
is($bad, 0, 'valid cookies: no Set-Cookie');
is(scalar(grep { (split /\|/, $first[$_])[0] ne $uids[$_] } 0 .. $#uids), 0,
    'the cookie is the id');

# the reference
my @q;
for my $u (@uids) {
    push @q, [$u, $EXP{$_}[0], $EXP{$_}[1], join ',', @{$EXP{$_}[3]}] for qw(d1 d2 d3);
}
my @ref = reference_assign(@q);
my @want;
for my $i (0 .. $#uids) {
    my @v;
    for my $k (0 .. 2) {
        my $r = $ref[3 * $i + $k];
        my $e = $EXP{(qw(d1 d2 d3))[$k]};
        push @v, $r->{variant_index} < 0 ? '' : $e->[2][$r->{variant_index}];
    }
    push @want, join '|', $uids[$i], @v;
}
is(scalar(grep { $first[$_] ne $want[$_] } 0 .. $#uids), 0, 'assignments as the reference');

# reload: other declaration order, one more experiment
ok($t->reload(config(qw(extra d3 d1 d2))), 'reload');
my ($bad2, @second) = ask($t);
is($bad2, 0, 'after reload: no Set-Cookie');
my @diff = grep { $first[$_] ne $second[$_] } 0 .. $#uids;
is(scalar @diff, 0, 'after reload: every visitor gets the same variants')
    or diag(join "\n", map { "$first[$_] -> $second[$_]" } @diff[0 .. 4]);

# a second nginx, two workers, several connections
my $u = ABNginx->new;
$u->write_config(config(qw(d2 d1 d3)), workers => 2)->start;
my ($bad3, @third) = ask($u, conns => 6);
is($bad3, 0, 'second instance: no Set-Cookie');
@diff = grep { $first[$_] ne $third[$_] } 0 .. $#uids;
is(scalar @diff, 0, 'second instance: every visitor gets the same variants')
    or diag(join "\n", map { "$first[$_] -> $third[$_]" } @diff[0 .. 4]);

ABNginx::finish();

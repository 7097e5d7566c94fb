#!/usr/bin/perl
# Targeting, mutually exclusive layers and the global holdout (README
# "ab" if=, ab_experiment "layer", "ab_holdout"; docs/assignment.md).
#
# - `ab NAME if=VALUE` exposes only when VALUE is non-empty and not "0";
#   $ab_NAME itself is unaffected.
# - Two experiments splitting a layer 0-50% / 50-100%: 5,000 fresh
#   visitors are each in exactly one, about half in each (within 4 sd).
# - Adding a third experiment in the free range of a layer (0-40%, 40-70%,
#   then 70-100% after a reload) moves nobody of the first two.
# - ab_holdout 10%: the share within 4 sd over 10,000 ids; holdout
#   visitors see the baseline everywhere, are exposed nowhere,
#   $ab_holdout=1.
# Layer and holdout membership is checked against the table written by an
# independent Python implementation, t/data/layer-vectors.tsv
# (scripts/gen-layer-vectors).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(reference_assign set_cookies read_vectors);
use ABLog qw(full_log log_ok);

my $t = ABNginx->new->require_module->require_reference;

my @V = read_vectors("$ABNginx::REPO/t/data/layer-vectors.tsv");
is(scalar @V, 10012, 'layer vectors: 10,012 rows');
my @panel = grep { $_->{uid} =~ /^layer-vector-\d+$/ } @V;
is(scalar @panel, 10000, 'layer vectors: 10,000 panel ids');

############################################################################
# targeting and a split layer, fresh visitors

my $T = '"$ab_t1|$ab_t2|$ab_t3|$ab_exposures"';

$t->write_config(full_log() . <<"EOF", access_log => 0)->start;
ab_experiment t1 { variant a 50%; variant b 50%; }
ab_experiment t2 { variant x 50%; variant y 50%; }
ab_experiment t3 { variant p 50%; variant q 50%; }

ab_experiment l1a { layer half 0-50%;   variant a 50%; variant b 50%; }
ab_experiment l1b { layer half 50-100%; variant c 1;   variant d 1; }

map \$http_user_agent \$is_mobile {
    default   "";
    ~*mobile  1;
}

server {
    listen 127.0.0.1:%%PORT%%;
    location /h { ab t1 if=\$http_x_target; return 200 $T; }
    location /m { ab t1 t2 if=\$is_mobile; ab t3; return 200 $T; }
    location /l { ab l1a l1b; return 200 "\$ab_l1a|\$ab_l1b|\$ab_exposures"; }
}
EOF

my $uid = 'targeting-visitor-0001';
my @nat = map { my ($e, @v) = @$_;
    my ($r) = reference_assign([$uid, $e, '100%', '50%,50%']);
    $v[$r->{variant_index}] } ['t1', qw(a b)], ['t2', qw(x y)], ['t3', qw(p q)];
my $vars = join '|', @nat;

for my $c ([undef, 0], ['', 0], ['0', 0], ['1', 1], ['yes', 1], ['00', 1],
    ['false', 1], [' 0', 0])
{
    my ($v, $on) = @$c;
    my $what = defined $v ? "if=\"$v\"" : 'if= without the header';
    my $r = $t->get('/h', "Cookie: abid=$uid",
        defined $v ? ("X-Target: $v") : ());
    is($r->{body}, "$vars|" . ($on ? "t1:$nat[0]" : ''),
        "$what: " . ($on ? 'exposed' : 'not exposed, variable unaffected'));
}

my $mobile = 'Mozilla/5.0 (Linux; Android 14) Mobile Safari/537.36';
my $desktop = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0';
my $r = $t->get('/m', "Cookie: abid=$uid", "User-Agent: $mobile");
is($r->{body}, "$vars|t1:$nat[0],t2:$nat[1],t3:$nat[2]",
    'mobile: the targeted and the untargeted experiments');
$r = $t->get('/m', "Cookie: abid=$uid", "User-Agent: $desktop");
is($r->{body}, "$vars|t3:$nat[2]",
    'desktop: only the untargeted experiment');

# 5,000 fresh visitors on a layer split 0-50% / 50-100%
my $N = 5000;
my $resp = $t->get_all([map { ['/l'] } 1 .. $N]);
my ($both, $none, $in_a, $bad_exp, %ids) = (0, 0, 0, 0);
for my $x (@$resp) {
    my ($a, $b, $exp) = split /\|/, $x->{body}, -1;
    $both++ if $a ne '' && $b ne '';
    $none++ if $a eq '' && $b eq '';
    $in_a++ if $a ne '';
    my $want = $a ne '' ? "l1a:$a" : $b ne '' ? "l1b:$b" : '';
    $bad_exp++ if $exp ne $want;
    my ($sc) = set_cookies($x);
    $ids{$sc->{value}}++ if $sc;
}
is(scalar keys %ids, $N, "layer: $N fresh visitors, $N ids");
is($both, 0, 'layer: no visitor in both experiments');
is($none, 0, 'layer: the two ranges cover every visitor');
is($bad_exp, 0, 'layer: each visitor exposed to its experiment only');
my $sd = sqrt($N * 0.25);
ok(abs($in_a - $N / 2) <= 4 * $sd,
    "layer: $in_a of $N in the 0-50% experiment (4 sd = "
    . sprintf('%.0f', 4 * $sd) . ')');

log_ok($t, 'targeting and layer', count => 10 + $N);

############################################################################
# a third experiment in the free range moves nobody

my $t2 = ABNginx->new;
my $L2 = <<'EOF';
ab_experiment la { layer checkout 0-40%;  variant a 50%; variant b 50%; }
ab_experiment lb { layer checkout 40-70%; variant c 1;   variant d 1; }
EOF
my $LC = <<'EOF';
ab_experiment lc { layer checkout 70-100%; variant e 1; variant f 1;
                   variant g 2; }
EOF
my $server2 = <<'EOF';
server {
    listen 127.0.0.1:%%PORT%%;
    location /p { ab %%POINTS%%; return 200 "%%BODY%%"; }
}
EOF
sub conf2 {
    my ($with_c) = @_;
    my $s = $server2;
    $s =~ s/%%POINTS%%/$with_c ? 'la lb lc' : 'la lb'/e;
    $s =~ s/%%BODY%%/'$ab_la|$ab_lb|' . ($with_c ? '$ab_lc' : '') . '|$ab_exposures'/e;
    return full_log() . $L2 . ($with_c ? $LC : '') . $s;
}
$t2->write_config(conf2(0), access_log => 0)->start;

my @rows = ((grep { $_->{uid} =~ /^layer-vector-(\d+)$/ && $1 <= 2000 } @V),
    (grep { $_->{uid} !~ /^layer-vector-/ } @V));
is(scalar @rows, 2012, 'panel: 2,000 ids and 12 boundary ids');

sub panel_bodies {
    my ($tt) = @_;
    my $res = $tt->get_all([map { ['/p', "Cookie: abid=$_->{uid}"] }
        @rows]);
    return map { $_->{body} } @$res;
}

sub want_exp {
    my ($row, $with_c) = @_;
    return join ',', map { $row->{$_} ne '' ? "$_:$row->{$_}" : () }
        $with_c ? qw(la lb lc) : qw(la lb);
}

my @before = panel_bodies($t2);
my @mism = grep { $before[$_] ne "$rows[$_]{la}|$rows[$_]{lb}||"
    . want_exp($rows[$_], 0) } 0 .. $#rows;
is(scalar @mism, 0, 'panel before: la and lb as the reference table says')
    or diag(join "\n", map { "$rows[$_]{uid}: got $before[$_]" }
        @mism[0 .. ($#mism < 4 ? $#mism : 4)]);
my $free = grep { $_->{layer_bucket} >= 7000 } @rows;
is(scalar(grep { /^\|\|/ } @before), $free,
    'panel before: the ids of the free range are in neither');

ok($t2->reload(conf2(1), access_log => 0), 'reload with lc in 70-100%');

my @after = panel_bodies($t2);
sub fields { return split /\|/, $_[0], -1 }
my $moved = grep { (fields($before[$_]))[0] ne (fields($after[$_]))[0]
    || (fields($before[$_]))[1] ne (fields($after[$_]))[1] } 0 .. $#rows;
is($moved, 0, 'panel after: nobody of la or lb moved');
@mism = grep { $after[$_] ne "$rows[$_]{la}|$rows[$_]{lb}|$rows[$_]{lc}|"
    . want_exp($rows[$_], 1) } 0 .. $#rows;
is(scalar @mism, 0, 'panel after: la, lb, lc as the reference table says')
    or diag(join "\n", map { "$rows[$_]{uid}: got $after[$_]" }
        @mism[0 .. ($#mism < 4 ? $#mism : 4)]);
is(scalar(grep { (fields($_))[2] ne '' } @after), $free,
    'panel after: lc took exactly the free range');

log_ok($t2, 'layer panel', count => 2 * @rows);

############################################################################
# the holdout

my $t3 = ABNginx->new;
$t3->write_config(full_log() . $L2 . $LC . <<'EOF', access_log => 0)->start;
ab_holdout 10%;

ab_experiment h1 { variant base 50%; variant alt 50%; }
ab_experiment h2 { traffic 30%; variant off 1; variant on 1; }

server {
    listen 127.0.0.1:%%PORT%%;
    location /h {
        ab la lb lc h1 h2;
        return 200 "$ab_holdout|$ab_la|$ab_lb|$ab_lc|$ab_h1|$ab_h2|$ab_exposures";
    }
}
EOF

my @h1 = reference_assign(map { [$_->{uid}, 'h1', '100%', '50%,50%'] } @V);
my @h2 = reference_assign(map { [$_->{uid}, 'h2', '30%', '1,1'] } @V);
my $res = $t3->get_all([map { ['/h', "Cookie: abid=$_->{uid}"] }
    @V]);

my ($held, $held_panel, @bad) = (0, 0);
for my $i (0 .. $#V) {
    my $row = $V[$i];
    my $in = $row->{holdout_bucket} < 1000;
    my $want;
    if ($in) {
        $held++;
        $held_panel++ if $row->{uid} =~ /^layer-vector-/;
        $want = '1|a|c|e|base|off|';
    } else {
        my $v1 = (qw(base alt))[$h1[$i]{variant_index}];
        my $v2 = $h2[$i]{enrolled} ? (qw(off on))[$h2[$i]{variant_index}] : '';
        my $exp = join ',', (map { $row->{$_} ne '' ? "$_:$row->{$_}" : () }
            qw(la lb lc)), "h1:$v1", $v2 ne '' ? "h2:$v2" : ();
        $want = "|$row->{la}|$row->{lb}|$row->{lc}|$v1|$v2|$exp";
    }
    push @bad, "$row->{uid}: want $want, got $res->[$i]{body}"
        if $res->[$i]{body} ne $want;
}
is(scalar @bad, 0, 'holdout: every id as the reference table says')
    or diag(join "\n", @bad[0 .. ($#bad < 4 ? $#bad : 4)]);

$sd = sqrt(10000 * 0.1 * 0.9);
ok(abs($held_panel - 1000) <= 4 * $sd,
    "holdout: $held_panel of 10,000 ids (10% within 4 sd = "
    . sprintf('%.0f', 4 * $sd) . ')');

my @lines = log_ok($t3, 'holdout', count => scalar @V);
my @hl = grep { $_->{holdout} eq '1' } @lines;
is(scalar @hl, $held, 'holdout: logged holdout="1" for every holdout id');
is(scalar(grep { $_->{exposures} ne '' } @hl), 0,
    'holdout: no exposure logged for them');
is(scalar(grep { $_->{holdout} ne '' && $_->{holdout} ne '1' } @lines), 0,
    'holdout: the field is "1" or empty');

############################################################################
# layer names are case-sensitive, as the layer bucket hashes the name as
# written: "Half" and "half" are two independent layers, whose ranges may
# overlap, and about a quarter of visitors is in both 50% ranges

my $t4 = ABNginx->new;
$t4->write_config(<<'EOF');
ab_experiment ca { layer Half 0-60%;   variant x 1; variant y 1; }
ab_experiment cb { layer half 40-100%; variant x 1; variant y 1; }
EOF
my ($out, $rc) = $t4->test_config;
is($rc, 0, 'layers "Half" and "half" may overlap: two layers') or diag($out);

my $t5 = ABNginx->new;
$t5->write_config(<<'EOF')->start;
ab_experiment ca { layer Half 0-50%;   variant x 1; variant y 1; }
ab_experiment cb { layer half 50-100%; variant x 1; variant y 1; }
server {
    listen 127.0.0.1:%%PORT%%;
    location / { ab ca cb; return 200 "$ab_ca|$ab_cb"; }
}
EOF
$res = $t5->get_all([map { ['/'] } 1 .. 1000]);
my $in_both = grep { $_->{body} =~ /^\w+\|\w+$/ } @$res;
# binomial(1000, 0.25): mean 250, sd 13.7; 4 sd either way
ok($in_both > 195 && $in_both < 305,
    "independent layers: $in_both of 1000 visitors in both 50% ranges");

ABNginx::finish();

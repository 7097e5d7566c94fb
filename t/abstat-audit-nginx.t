#!/usr/bin/perl
# The audit against the module itself: nginx with a holdout, a traffic
# share, relative weights and two experiments sharing a layer writes its
# log (the shipped ab_json format, with node); abstat audits it against
# the same nginx.conf and must find every exposure as the module made
# it. QA-forced requests are skipped, not mismatched. Then one line is
# changed as a hand-edited log would be, and exactly it is found.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use ABNginx;

my $t = ABNginx->new->require_module;
my $abstat = "$ABNginx::REPO/build/abstat";
plan(skip_all => "$abstat not built (run make)") unless -x $abstat;

$t->write_config(<<'EOF', access_log => 0)->start;
include %%REPO%%/conf-examples/log-format.conf;

ab_holdout     10%;
ab_force       $http_x_force;
ab_force_allow $http_x_qa;

ab_experiment checkout {
    salt     e2e-audit-checkout;
    traffic  70%;
    variant  control 50%;
    variant  upsell  50%;
}

ab_experiment rank {
    salt     e2e-audit-rank;
    layer    search 0-50%;
    variant  a 2;
    variant  b 1;
    variant  c 1;
}

ab_experiment rank2 {
    layer    search 50%-100%;
    variant  x 1;
    variant  y 3;
}

server {
    listen 127.0.0.1:%%PORT%%;
    access_log %%DIR%%/access.log ab_json;

    location / {
        ab checkout rank rank2;
        return 200 "$ab_checkout/$ab_rank/$ab_rank2";
    }
}
EOF

my $browser = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0';
my $forced = 0;

for my $v (1 .. 300) {
    my $r = $t->get('/', "User-Agent: $browser");
    my ($sc) = ABNginx::header_values($r, 'Set-Cookie');
    my ($cookie) = ($sc // '') =~ /^(abid=[^;]+)/;
    die "no id minted" unless $cookie;
    $t->get('/', "User-Agent: $browser", "Cookie: $cookie")
        for 1 .. $v % 3;
    if ($v % 25 == 0) {
        $t->get('/', "User-Agent: $browser", "Cookie: $cookie", 'X-QA: 1',
            'X-Force: checkout:upsell');
        $forced++;
    }
}

$t->stop_and_check;

my $log = $t->dir . '/access.log';
my $conf = $t->conf_path;

sub report {
    my ($file, @opts) = @_;
    my $json = `$abstat report --format json --quiet --nginx-conf $conf @opts $file 2>/dev/null`;
    return ($? >> 8, eval { decode_json($json) });
}

my ($rc, $rep) = report($log, '--fail-on', 'drift');
is($rc, 0, "the module's own log: no drift (exit 0)");
is($rep->{input}{bad_lines}, 0, 'no bad line');
my %exp = map { $_->{name} => $_ } @{$rep->{experiments}};
is_deeply([sort keys %exp], [qw(checkout rank rank2)], 'three experiments');

my $hostname = `hostname`;
chomp $hostname;
my $checked = 0;
for my $name (sort keys %exp) {
    my $a = $exp{$name}{audit};
    cmp_ok($a->{checked}, '>', 50, "$name: $a->{checked} exposures checked");
    is($a->{mismatches}, 0, "$name: no mismatch");
    is_deeply([map { $_->{node} } @{$a->{by_node}}], [$hostname],
              "$name: one node, nginx's \$hostname");
    is(scalar @{$exp{$name}{nodes}}, 1, "$name: one node's share");
    $checked += $a->{checked};
}
is($exp{checkout}{audit}{skipped_by_reason}{forced}, $forced,
   "checkout: $forced forced exposures skipped");

# the layer splits visitors between rank and rank2; the holdout and
# traffic leave some out of checkout: all of it as abstat recomputes it
my $visitors = 0;
$visitors += $_->{visitors} for map { @{$_->{variants}} } $exp{rank},
    $exp{rank2};
cmp_ok($visitors, '<', 300, 'the holdout left visitors out of the layer');
cmp_ok($exp{checkout}{variants}[0]{visitors}
       + $exp{checkout}{variants}[1]{visitors}, '<', $visitors,
       'traffic 70% left some out of checkout');

# a hand edit: one exposure of rank changed to another variant
open my $in, '<', $log or die "$log: $!";
my @lines = <$in>;
close $in;
my $done = 0;
for (@lines) {
    next if $done or !/"exposures":"[^"]*\brank:([abc])\b/;
    my ($from, $to) = ($1, $1 eq 'a' ? 'b' : 'a');
    s/\brank:$from\b/rank:$to/;
    $done = 1;
}
ok($done, 'a rank exposure edited');
my $edited = $t->dir . '/edited.log';
open my $out, '>', $edited or die;
print $out @lines;
close $out;
($rc, $rep) = report($edited, '--fail-on', 'drift');
is($rc, 13, 'the edited log: --fail-on drift exits 13');
%exp = map { $_->{name} => $_ } @{$rep->{experiments}};
is($exp{rank}{audit}{mismatches}, 1, 'rank: exactly the edited exposure');
is($exp{checkout}{audit}{mismatches} + $exp{rank2}{audit}{mismatches}, 0,
   'the others: none');

done_testing;

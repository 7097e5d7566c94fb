# Metric roles (issue 14): Holm over the primary family only, so that a
# new funnel event leaves it alone; every verdict (JSON, text, HTML) on
# the test of the headline interval, the relative one; --primary's
# checks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use AbstatTest qw(run_abstat run_abstat_raw log_line log_file);

# One exposure per visitor; $rev->($variant, $i) is the visitor's
# revenue (0: no order); $events->($variant, $i) its funnel events.
sub write_log {
    my ($name, $n, $rev, $events) = @_;
    my ($t, @lines) = (1763900000);
    for my $v (sort keys %$n) {
        for my $u (map { "$v$_" } 1 .. $n->{$v}) {
            my ($i) = $u =~ /(\d+)$/;
            my ($r, $when) = ($rev->($v, $i), '' . ++$t);
            push @lines, log_line($when, $u, exposures => "cta:$v");
            push @lines, log_line($when, $u,
                                  events => "purchase;order=$u;revenue=$r")
                if $r;
            push @lines, map { log_line($when, $u, events => $_) }
                         $events ? $events->($v, $i) : ();
        }
    }
    return log_file(@lines);
}

sub rows {
    my ($json, $metric) = @_;
    return grep { $_->{metric} eq $metric } @{$json->{experiments}[0]{metrics}};
}

sub holm {
    my @p = @_;
    my @idx = sort { $p[$a] <=> $p[$b] || $a <=> $b } 0 .. $#p;
    my ($run, @adj) = (0);
    for my $k (0 .. $#idx) {
        my $v = (@p - $k) * $p[$idx[$k]];
        $v = 1 if $v > 1;
        $run = $v if $v > $run;
        $adj[$idx[$k]] = $run;
    }
    return @adj;
}

# ---- the family does not grow with the funnel ----

# Three variants, revenue that differs a little; view_item for some.
my %n3 = (control => 300, b => 300, c => 300);
my $rev3 = sub {
    my ($v, $i) = @_;
    my $lift = { control => 0, b => 15, c => 1 }->{$v};
    return $i % 5 == 0 ? 20 + $i % 7 + $lift : 0;
};
my $plain = write_log('plain', \%n3, $rev3, sub { $_[1] % 3 ? () : 'view_item' });
my $more = write_log('more', \%n3, $rev3, sub {
    my ($v, $i) = @_;
    my @e = $i % 3 ? () : 'view_item';
    # a new event name, with a strong difference: today's family grows
    # by two tests, one of them significant
    push @e, 'newsletter' if $i % ($v eq 'b' ? 2 : 9) == 0;
    return @e;
});

my ($rc, $a) = run_abstat($plain);
is($rc, 0, 'plain: exit 0');
my ($rc2, $b) = run_abstat($more);
is($rc2, 0, 'with a new funnel event: exit 0');
ok(scalar(rows($b, 'event:newsletter')) == 2
   && scalar(rows($a, 'event:newsletter')) == 0,
   'the second log has the new event, the first not');

my @pa = rows($a, 'revenue_per_visitor');
my @pb = rows($b, 'revenue_per_visitor');
is($a->{experiments}[0]{primary_tests}, 2, 'family: 1 primary x 2 variants');
is($b->{experiments}[0]{primary_tests}, 2, '... also with the new event');
is_deeply([map { $_->{p_value_adjusted} } @pb],
          [map { $_->{p_value_adjusted} } @pa],
          'Holm-adjusted p of the primary metric unchanged by the event');
my @want = holm(map { $_->{rel_p_value} } @pa);
for my $i (0 .. 1) {
    cmp_ok(abs($pa[$i]{p_value_adjusted} - $want[$i]), '<=', 1e-15,
           "$pa[$i]{variant}: Holm over the two relative p-values");
    is($pa[$i]{role}, 'primary', "$pa[$i]{variant}: role primary");
}
my @sec = grep { $_->{role} eq 'secondary' } @{$b->{experiments}[0]{metrics}};
ok(@sec >= 10 && !grep({ defined $_->{p_value_adjusted} } @sec),
   'secondary rows: role secondary, no adjusted p');
ok(!grep({ $_->{role} ne 'guardrail' }
         grep { $_->{metric} =~ /^(error_rate|mean_latency)$/ }
         @{$b->{experiments}[0]{metrics}}), 'guardrails: role guardrail');

# --primary moves a metric into the family
($rc, my $c) = run_abstat('--primary', 'revenue_per_visitor,event:newsletter',
                          $more);
is($c->{experiments}[0]{primary_tests}, 4, '--primary: 2 metrics x 2 variants');
is_deeply($c->{primary}, ['revenue_per_visitor', 'event:newsletter'],
          '--primary: in the JSON');
my @fam = grep { $_->{role} eq 'primary' } @{$c->{experiments}[0]{metrics}};
@want = holm(map { $_->{p_value_test} } @fam);
is_deeply([map { sprintf '%.12g', $_->{p_value_adjusted} } @fam],
          [map { sprintf '%.12g', $_ } @want], '--primary: Holm over the four');

# ---- the verdict is on the headline's test ----

# Control: 1 in 10 buys for 100 (mean 10, large variance). Treatment
# everyone buys, little variance: $up (abs p < 0.05 < rel p) or $down
# (rel p < 0.05 < abs p) around its mean.
my %n2 = (control => 400, upsell => 400);
sub straddle {
    my ($name, $mean) = @_;
    return write_log($name, \%n2, sub {
        my ($v, $i) = @_;
        return $v eq 'control' ? ($i % 10 ? 0 : 100)
               : sprintf '%.2f', $mean + ($i % 2 ? -1 : 1);
    });
}
my $up = straddle('up', 13.3);
my $down = straddle('down', 7.5);

for my $case ([$up, 'abs p < alpha < rel p', 0],
              [$down, 'rel p < alpha < abs p', 1])
{
    my ($log, $what, $moves) = @$case;
    my ($rc, $j) = run_abstat($log);
    my ($m) = rows($j, 'revenue_per_visitor');
    ok($moves ? $m->{rel_p_value} < 0.05 && $m->{p_value} > 0.05
              : $m->{p_value} < 0.05 && $m->{rel_p_value} > 0.05,
       "$what: the case is what it says ($m->{p_value} vs $m->{rel_p_value})");
    is($m->{test}, 'relative', "$what: the verdict's test is the relative one");
    cmp_ok(abs($m->{p_value_adjusted} - $m->{rel_p_value}), '<=', 1e-15,
           "$what: Holm (one test) on the relative p");
    my ($lo, $hi) = @{$m->{ci_adjusted} // [0, 0]};
    is(($lo > 0 || $hi < 0) ? 1 : 0, $moves,
       "$what: the adjusted CI excludes 0 exactly when it moved");

    my (undef, $text) = run_abstat_raw('report', '-q', '--width', '0', $log);
    my ($row) = $text =~ /^(  revenue_per_visitor  upsell .*)$/m;
    is($row =~ /\*\s*$/ ? 1 : 0, $moves, "$what: text star follows");
    my (undef, $html) = run_abstat_raw('report', '-q', '--format', 'html',
                                       $log);
    is($html =~ /<li>Moved: revenue_per_visitor upsell/ ? 1 : 0, $moves,
       "$what: HTML verdict follows");
}

# ---- --primary's checks ----

for my $bad (['error_rate', qr/a guardrail/],
             ['no_such_metric', qr/no such metric/],
             ['revenue_per_visitor_capped', qr/only with --cap-revenue/],
             ['event:purchase', qr/an order event/],
             ['event:Bad-Name', qr/not an event name/],
             ['revenue_per_visitor,', qr/an empty metric name/])
{
    my ($rc, undef, $err) = run_abstat_raw('report', '--primary', $bad->[0],
                                           $plain);
    is($rc, 2, "--primary $bad->[0]: usage error");
    like($err, $bad->[1], "--primary $bad->[0]: says why");
}
($rc) = run_abstat('--primary', 'revenue_per_visitor_capped',
                   '--cap-revenue', '99', $plain);
is($rc, 0, '--primary of a capped metric with --cap-revenue (given after)');
($rc, undef, my $err) = run_abstat_raw('report', '--mde', '0', $plain);
is($rc, 2, '--mde 0: usage error');

done_testing();

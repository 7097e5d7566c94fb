# Always-valid inference (issue 14): an A/A simulation peeking daily (and
# hourly) for 14 days keeps the share of experiments with any confidence sequence
# excluding 0 within alpha (the fixed-horizon share beside it shows why),
# a true +5% RPV lift is found as often as an independent numpy run of
# the same rule on the same data predicts, and every sequence abstat
# reports agrees with that run (scripts/sequential-sim).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use Cpanel::JSON::XS ();
use AbstatTest qw(run_abstat run_abstat_raw exp_of metric_of);

my $py = '/usr/bin/python3';
plan skip_all => "$py with numpy and scipy needed"
    if system($py, '-c', 'import numpy, scipy') != 0;

my $dir = tempdir(CLEANUP => 1);
my ($log, $sum) = ("$dir/sim.log", "$dir/sim.json");
my $seed = $ENV{ABSTAT_SEQ_SEED} // 14;
diag "seed $seed (ABSTAT_SEQ_SEED)";
is(system($py, 'scripts/sequential-sim', $log, $sum, '--seed', $seed), 0,
   'simulated log written');
my $want = Cpanel::JSON::XS->new->decode(AbstatTest::slurp($sum));
my ($alpha, $days) = ($want->{alpha}, $want->{days});

my ($rc, $out, $err) = run_abstat_raw('report', '--format', 'json', '-q',
                                      '--bucket', 'day', '--sequential',
                                      $log);
is($rc, 0, 'abstat on the simulated log: exit 0') or diag $err;
my $rep = Cpanel::JSON::XS->new->decode($out);

sub excludes0 { my ($ci) = @_; defined $ci->[0] && ($ci->[0] > 0 || $ci->[1] < 0) }

# Per kind (aa, pw): experiments, and those where some daily look of a
# series excluded 0; and how far abstat is from the numpy sequences.
my (%n, %any, $worst, $where, $points);
$worst = 0;
for my $x (@{ $rep->{experiments} }) {
    my ($kind) = $x->{name} =~ /^(aa|pw)_/ or next;
    my @pts = grep { $_->{variant} eq 'treatment' } @{ $x->{trend} };
    my $ref = $want->{experiments}{ $x->{name} };
    $n{$kind}++;
    for my $m (['rpv', 'revenue_per_visitor'], ['conv', 'conversion_rate']) {
        my ($short, $key) = @$m;
        my $r = $ref->{$key};
        for my $s (['seq', "${key}_lift_ci_sequential", 'ci_sequential'],
                   ['fixed', "${key}_lift_ci", 'ci'])
        {
            my ($how, $got, $theirs) = @$s;
            my $hit = grep { excludes0($_->{$got}) } @pts;
            $any{"$kind $short $how"}++ if $hit;
            $any{"$kind $short $how numpy"}++
                if grep { excludes0($_) } @{ $r->{$theirs} };
            for my $i (0 .. $#pts) {
                my ($g, $w) = ($pts[$i]{$got}, $r->{$theirs}[$i]);
                my $scale = abs($w->[1] - $w->[0]) + abs($r->{lift}[$i]);
                for my $j (0, 1) {
                    my $d = abs(($g->[$j] // 'nan') - $w->[$j]) / $scale;
                    ($worst, $where) = ($d, "$x->{name} $got day $i")
                        if !($d <= $worst);
                }
                $points++;
            }
        }
    }
    if ($kind eq 'aa' && $n{aa} == 1) {
        is(scalar @pts, $days, "one trend point a day ($days)");
        my $m = metric_of($x, 'revenue_per_visitor', 'treatment');
        is_deeply($m->{sequential}{rel_ci},
                  $pts[-1]{revenue_per_visitor_lift_ci_sequential},
                  'the metric row holds the last day\'s sequence');
        is($m->{sequential}{tuning}, 5000, 'default N* 5000');
    }
}
is($n{aa}, 400, '400 A/A experiments');
is($n{pw}, 60, '60 experiments with a +5% RPV lift');
cmp_ok($worst, '<=', 1e-9, "all $points daily CIs and sequences match "
       . 'numpy within 1e-9 of their width') or diag "worst at $where";

# A/A: the family-wise error over 14 looks, alpha plus 3 standard errors
# of a share of 400 at alpha.
my $band = $alpha + 3 * sqrt($alpha * (1 - $alpha) / $n{aa});
for my $m (qw(rpv conv)) {
    my $seq = ($any{"aa $m seq"} // 0) / $n{aa};
    my $fixed = ($any{"aa $m fixed"} // 0) / $n{aa};
    cmp_ok($seq, '<=', $band, sprintf('A/A %s: %.1f%% of experiments with '
           . 'a sequence excluding 0 on some day, at most %.1f%%', $m,
           100 * $seq, 100 * $band));
    note sprintf('A/A %s: fixed-horizon CIs excluded 0 on some day in '
                 . '%.1f%% (%d of %d)', $m, 100 * $fixed,
                 $any{"aa $m fixed"} // 0, $n{aa});
    cmp_ok($fixed, '>', $band, "A/A $m: daily fixed-horizon looks "
           . 'exceed the band (what peeking costs)');
}

# Hourly looks (a cron job's) at the first 100 A/A experiments: 24 times
# as many looks, and the first ones at a handful of visitors.
my @first = map { ('-e', sprintf 'aa_%03d', $_) } 0 .. 99;
($rc, $out, $err) = run_abstat_raw('report', '--format', 'json', '-q',
                                   '--bucket', 'hour', '--sequential',
                                   @first, $log);
is($rc, 0, 'hourly trend of 100 A/A experiments: exit 0') or diag $err;
my $hourly = Cpanel::JSON::XS->new->decode($out);
my (%hn, %hany, $hpts);
for my $x (@{ $hourly->{experiments} }) {
    my @pts = grep { $_->{variant} eq 'treatment' } @{ $x->{trend} };
    $hpts = @pts;
    $hn{all}++;
    for my $k ('revenue_per_visitor_lift_ci_sequential',
               'revenue_per_visitor_lift_ci')
    {
        $hany{$k}++ if grep { excludes0($_->{$k}) } @pts;
    }
}
my $hband = $alpha + 3 * sqrt($alpha * (1 - $alpha) / $hn{all});
my $hseq = ($hany{revenue_per_visitor_lift_ci_sequential} // 0) / $hn{all};
my $hfixed = ($hany{revenue_per_visitor_lift_ci} // 0) / $hn{all};
cmp_ok($hseq, '<=', $hband, sprintf('A/A rpv, %d hourly looks: %.1f%% with '
       . 'a sequence excluding 0, at most %.1f%%', $hpts, 100 * $hseq,
       100 * $hband));
note sprintf('A/A rpv, hourly: fixed-horizon CIs excluded 0 in %.1f%%',
             100 * $hfixed);
cmp_ok($hfixed, '>', $hband, 'hourly fixed-horizon looks exceed the band');

# The guardrail's one-sided always-valid test of harm, looked at daily:
# latency is the same in both variants, so an A/A experiment whose
# mean_latency alerts on some day is a false alarm. Each look is a run
# that ends at that day's end (--until), as a daily cron job sees it.
my (%gany, $glooks);
$glooks = 0;
for my $d (1 .. $days) {
    my $until = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ',
                                gmtime($want->{t0} + 86400 * $d));
    my ($grc, $gout, $gerr) = run_abstat_raw('report', '--format', 'json',
        '-q', '--sequential', '--until', $until, @first, $log);
    is($grc, 0, "guardrail look on day $d: exit 0") or diag $gerr;
    $glooks++;
    for my $x (@{ Cpanel::JSON::XS->new->decode($gout)->{experiments} }) {
        my ($m) = grep { $_->{metric} eq 'mean_latency' } @{ $x->{metrics} };
        next unless $m;
        $gany{seq}{$x->{name}} = 1
            if ($m->{harm}{sequential_p_value} // 1) < $alpha;
        $gany{fixed}{$x->{name}} = 1 if ($m->{harm}{p_value} // 1) < $alpha;
    }
}
my $gseq = keys(%{ $gany{seq} // {} }) / $hn{all};
my $gfixed = keys(%{ $gany{fixed} // {} }) / $hn{all};
cmp_ok($gseq, '<=', $hband, sprintf('A/A mean_latency, %d daily looks: %.1f%% '
       . 'with an always-valid harm alert, at most %.1f%%', $glooks,
       100 * $gseq, 100 * $hband));
note sprintf('A/A mean_latency, daily: the fixed-horizon one-sided test '
             . 'alerted in %.1f%%', 100 * $gfixed);

# Power: found by day 14 in at least as many experiments as numpy's run
# of the rule on the same data, and far more often than in the A/A.
my $found = ($any{'pw rpv seq'} // 0);
my $predicted = ($any{'pw rpv seq numpy'} // 0);
cmp_ok($found, '>=', $predicted, sprintf('+5%% RPV found by day %d in %d '
       . 'of %d (%.0f%%), numpy predicts %d', $days, $found, $n{pw},
       100 * $found / $n{pw}, $predicted));
cmp_ok($found / $n{pw}, '>', 0.5, 'the power check has power (over 50%)');

# The options.
my @small = ('t/data/abstat/gen/ab.log');
my ($r1) = (run_abstat(@small))[1];
ok(!exists $r1->{experiments}[0]{metrics}[0]{sequential},
   'one fixed-horizon run: no sequential results');
my $st = "$dir/state";
my ($r2) = (run_abstat('--state', $st, @small))[1];
ok(exists $r2->{experiments}[0]{metrics}[0]{sequential},
   '--state: sequential by default');
my ($r3) = (run_abstat('--state', $st, '--no-sequential', @small))[1];
ok(!exists $r3->{experiments}[0]{metrics}[0]{sequential},
   '--state --no-sequential: fixed horizon');
my ($r4) = (run_abstat('--sequential', '--sequential-tuning', '1000',
                       @small))[1];
my $m2 = $r2->{experiments}[0]{metrics}[0]{sequential};
my $m4 = $r4->{experiments}[0]{metrics}[0]{sequential};
ok($m4->{tuning} == 1000 && $m4->{ci}[0] != $m2->{ci}[0],
   '--sequential-tuning 1000 is used');
for my $bad ('0', '-5', 'x', '1e13') {
    my ($brc, undef, $berr) = run_abstat_raw('report', '--sequential-tuning',
                                             $bad, @small);
    ok($brc == 2 && $berr =~ /--sequential-tuning/,
       "--sequential-tuning $bad: usage error");
}

# --fail-on guardrail reads the always-valid p: the generated logs'
# error_rate regression (fixed p 0.04) is not one any more.
my @two = ('t/data/abstat/gen/ab.log.1', @small);
my ($frc, undef, $ferr) = run_abstat_raw('report', '-q', '--fail-on',
    'guardrail', '-e', 'checkout_cta', '--no-sequential', @two);
my ($src, undef, $serr) = run_abstat_raw('report', '-q', '--fail-on',
    'guardrail', '-e', 'checkout_cta', '--sequential', @two);
ok($frc == 11 && $ferr =~ /error_rate/, 'fixed horizon: error_rate alert');
ok($src == 11 && $serr =~ /always-valid p/ && $serr !~ /error_rate/,
   'sequential: latency still alerts, error_rate does not')
    or diag "exit $src: $serr";

done_testing();

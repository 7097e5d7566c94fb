# abstat report --by (issue 17) on generated logs whose segment structure
# is known (scripts/gen-segment-logs, deterministic seeds):
#  (a) treatment +2.00 revenue per visitor on desktop, -1.50 on mobile,
#      half the visitors each: the segments recover both, the pooled
#      effect is the mix (+0.25), Cochran's Q rejects;
#  (b) 25 A/A experiments by 20 countries: segment rows are flagged at
#      about alpha, within binomial bounds derived below;
#  (c) a cache serving mobile the treatment one time in five: mobile's
#      SRM alerts, the pooled SRM does not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use AbstatTest qw(run_abstat exp_of metric_of by_supported segment_of);

plan skip_all => 'this abstat has no --by (issue 17): segment acceptance '
               . 'tests not run' unless by_supported();

my $dir = tempdir(CLEANUP => 1);

sub generate {
    my ($scenario) = @_;
    my $path = "$dir/$scenario.log";
    system('scripts/gen-segment-logs', $scenario, $path) == 0
        or BAIL_OUT("scripts/gen-segment-logs $scenario failed");
    return $path;
}

sub report {
    my ($rc, $json, $err) = run_abstat(@_);
    is($rc, 0, "abstat report @_[0 .. $#_ - 1]: exit 0") or diag $err;
    return $json;
}

sub covers {
    my ($ci, $x) = @_;
    return defined $ci->[0] && $ci->[0] <= $x && $x <= $ci->[1];
}

sub heterogeneity_of {
    my ($x, $dim, $metric, $variant) = @_;
    my ($h) = grep { $_->{dimension} eq $dim && $_->{metric} eq $metric
                     && $_->{variant} eq $variant } @{ $x->{heterogeneity} };
    return $h;
}

# The interval a row's verdict is on (docs/abstat-json.md, `flag`): the
# confidence sequence with --sequential, CUPED's where it adjusted the
# row (not an exact test of small counts), else the row's own; relative
# or absolute as the row's `test`.
sub test_interval {
    my ($m) = @_;
    my $rel = $m->{test} eq 'relative';
    return $m->{sequential}{$rel ? 'rel_ci' : 'ci'} if $m->{sequential};
    return $m->{cuped}{$rel ? 'rel_ci' : 'ci'}
        if $m->{cuped} && !$m->{small_counts};
    return $m->{$rel ? 'rel_ci' : 'abs_ci'};
}

# A row's flag is that interval excluding 0, nothing else.
sub flag_agrees {
    my ($m) = @_;
    my ($lo, $hi) = @{ test_interval($m) };
    my $excludes = defined $lo && defined $hi && ($lo > 0 || $hi < 0) ? 1 : 0;
    return JSON::PP::is_bool($m->{flag}) && $excludes == ($m->{flag} ? 1 : 0);
}

# (a) Known effects of opposite sign. 10000 visitors a segment, 5000 an
# arm; revenue per visitor has sd about 18.6, so an arm difference has a
# standard error about 0.37: +2.00 is 5.4 of them, -1.50 is 4.0, the gap
# between the segments 6.6 (Q about 45 expected, p about 1e-11; this
# seed: desktop +2.32, mobile -1.62, Q 51.2, p 8e-13).
{
    my $log = generate('hetero');
    my $x = exp_of(report('--by', 'device', $log), 'checkout');
    ok($x, 'hetero: experiment checkout');
    my @seg = map { "$_->{dimension}=$_->{value}" } @{ $x->{segments} };
    is_deeply(\@seg, ['device=desktop', 'device=mobile'],
              'hetero: two device segments, by value');
    is(segment_of($x, 'device', $_)->{visitors}, 10000,
       "hetero: $_ has half the visitors") for qw(desktop mobile);
    my $d = metric_of(segment_of($x, 'device', 'desktop'),
                      'revenue_per_visitor', 'treatment');
    my $m = metric_of(segment_of($x, 'device', 'mobile'),
                      'revenue_per_visitor', 'treatment');
    ok($d->{flag} && $d->{abs_effect} > 0,
       "hetero: desktop's gain flagged ($d->{abs_effect})");
    ok($m->{flag} && $m->{abs_effect} < 0,
       "hetero: mobile's loss flagged ($m->{abs_effect})");
    my $h = heterogeneity_of($x, 'device', 'revenue_per_visitor',
                             'treatment');
    ok($h && $h->{segments} == 2 && $h->{df} == 1,
       'hetero: Q over the two segments, 1 degree of freedom');
    ok($h && $h->{p_value} < 0.001,
       "hetero: Cochran's Q rejects (p = " . ($h ? $h->{p_value} : 'none')
       . ')');
    # Q by hand from the rows' effects and CIs: each effect's variance is
    # (half-width / t quantile)^2, the quantile at the row's Welch df
    # (near 1e4) from the normal's by Cornish-Fisher's expansion (to
    # about 1e-12 there).
    my $z = 1.959963984540054;
    my @w = map {
        my $df = $_->{df};
        my $t = $z + ($z ** 3 + $z) / (4 * $df)
              + (5 * $z ** 5 + 16 * $z ** 3 + 3 * $z) / (96 * $df ** 2);
        ($t / (($_->{abs_ci}[1] - $_->{abs_ci}[0]) / 2)) ** 2
    } $d, $m;
    my $theta = ($w[0] * $d->{abs_effect} + $w[1] * $m->{abs_effect})
                / ($w[0] + $w[1]);
    my $q = $w[0] * ($d->{abs_effect} - $theta) ** 2
          + $w[1] * ($m->{abs_effect} - $theta) ** 2;
    ok($h && abs($h->{q} - $q) <= 1e-6 * $q,
       sprintf "hetero: Q is that of the rows' effects (%.9g, want %.9g)",
       $h ? $h->{q} : -1, $q);

    # At 99.9% (three intervals, so a fresh seed fails one about 0.3% of
    # the time, not the 15% of three 95% ones).
    $x = exp_of(report('--alpha', '0.001', '--by', 'device', $log),
                'checkout');
    $d = metric_of(segment_of($x, 'device', 'desktop'),
                   'revenue_per_visitor', 'treatment');
    $m = metric_of(segment_of($x, 'device', 'mobile'),
                   'revenue_per_visitor', 'treatment');
    my $p = metric_of($x, 'revenue_per_visitor', 'treatment');
    ok(covers($d->{abs_ci}, 2.00), "hetero: desktop's 99.9% CI "
       . "[$d->{abs_ci}[0], $d->{abs_ci}[1]] holds +2.00");
    ok(covers($m->{abs_ci}, -1.50), "hetero: mobile's 99.9% CI "
       . "[$m->{abs_ci}[0], $m->{abs_ci}[1]] holds -1.50");
    ok(covers($p->{abs_ci}, 0.25) && !covers($p->{abs_ci}, 2.00)
       && !covers($p->{abs_ci}, -1.50),
       "hetero: the pooled 99.9% CI [$p->{abs_ci}[0], $p->{abs_ci}[1]] "
       . 'holds the mix +0.25, neither segment\'s effect');
}

# Binomial(n, p) tail bounds: the least lo and greatest hi with
# P(X < lo) <= tail and P(X > hi) <= tail.
sub binomial_bounds {
    my ($n, $p, $tail) = @_;
    my @pmf = ((1 - $p) ** $n);
    push @pmf, $pmf[-1] * ($n - @pmf + 1) / @pmf * $p / (1 - $p)
        while @pmf <= $n;
    my ($lo, $cum) = (0, 0);
    $cum += $pmf[$lo++] while $cum + $pmf[$lo] <= $tail;
    my ($hi, $up) = ($n, 0);
    $up += $pmf[$hi--] while $up + $pmf[$hi] <= $tail;
    return ($lo, $hi);
}

# (b) A/A: 25 experiments, each 20 countries of 1000 visitors (500 an
# arm). Within a metric, the 500 rows (experiment x country) are
# independent to first order: their segments are disjoint, and two
# experiments' arm differences over the same visitors are uncorrelated
# (independent assignments). So each metric's flagged count is about
# Binomial(500, 0.05): mean 25, and we ask it within the central 99.9%
# (each tail 0.0005). Over all metrics at once the rows of a segment are
# correlated (conversion, orders and revenue move together), so the
# overall share is bounded per (experiment, country) cell instead: a
# cell's share of flagged rows lies in [0, 1] with mean alpha, so its
# variance is at most alpha (1 - alpha), and the mean of 500 cells is
# within alpha +- 3.29 sqrt(alpha (1 - alpha) / 500) = 0.05 +- 0.032
# (normal 99.9%) whatever the correlation.
{
    my $alpha = 0.05;
    my $log = generate('aa');
    my $r = report('--by', 'field:country', '--by-top', '20', $log);
    my @exps = grep { $_->{name} =~ /^aa\d\d\z/ } @{ $r->{experiments} };
    is(scalar @exps, 25, 'aa: 25 experiments');
    my (%rows, %flags, @cells, $disagree, $shape, $notes);
    for my $x (@exps) {
        my ($tests, $flagged) = (0, 0);
        my @v = map { $_->{value} } @{ $x->{segments} };
        $shape++ unless @v == 20 && !grep { $_ eq 'other' || $_ eq '(none)' }
                                        @v;
        for my $s (@{ $x->{segments} }) {
            my ($n, $f) = (0, 0);
            for my $m (@{ $s->{metrics} }) {
                $disagree++ unless flag_agrees($m);
                $tests++;
                $flagged++ if $m->{flag};
                next unless defined test_interval($m)->[0];
                $rows{ $m->{metric} }++;
                $n++;
                if ($m->{flag}) {
                    $flags{ $m->{metric} }++;
                    $f++;
                }
            }
            push @cells, $n ? $f / $n : 0;
        }
        # the multiplicity note: what chance alone flags among the rows
        my $mult = $x->{segment_multiplicity} // {};
        $notes++ unless ($mult->{segments} // -1) == @{ $x->{segments} }
            && ($mult->{tests} // -1) == $tests
            && ($mult->{flags} // -1) == $flagged
            && abs(($mult->{expected_flags} // -1) - $alpha * $tests)
               <= 1e-9 * $tests;
    }
    ok(!$notes, 'aa: every segment_multiplicity counts the segments, rows '
       . 'and flags, and expects alpha x rows of them by chance');
    like($r->{segmentation}{note} // '', qr/exploratory.*alpha/,
         'aa: the report says segment results are exploratory');
    ok(!$shape, 'aa: every experiment has the 20 countries, no other');
    ok(!$disagree, 'aa: every row is flagged exactly when the interval of '
       . 'its test excludes 0');
    ok(keys %rows >= 6, 'aa: rows of ' . join(', ', sort keys %rows));
    for my $metric (sort keys %rows) {
        my $n = $rows{$metric};
        my ($lo, $hi) = binomial_bounds($n, $alpha, 0.0005);
        my $k = $flags{$metric} // 0;
        ok($k >= $lo && $k <= $hi, "aa: $metric: $k of $n segment rows "
           . "flagged, within Binomial($n, $alpha)'s 99.9% [$lo, $hi]");
    }
    my $share = 0;
    $share += $_ / @cells for @cells;
    my $bound = 3.29 * sqrt($alpha * (1 - $alpha) / @cells);
    ok(abs($share - $alpha) <= $bound, sprintf
       'aa: %.4f of all segment rows flagged, within %.2f +- %.4f',
       $share, $alpha, $bound);

    # --by-top with every country at 1000 visitors: the ties go by value,
    # bytewise, and the rest is `other`.
    $r = report('--experiment', 'aa00', '--by', 'field:country',
                '--by-top', '5', $log);
    my $x = exp_of($r, 'aa00');
    is_deeply([map { "$_->{value}:$_->{visitors}" } @{ $x->{segments} }],
              [qw(AR:1000 AU:1000 BR:1000 CA:1000 CH:1000 other:15000)],
              'aa: --by-top 5 keeps the first five of a tie, by value');
}

# (c) A broken split in one device segment. Mobile is 2% of 50000
# visitors (about 1000) seen 40/60: chi2 about 40, p about 1e-10 (an
# alert, p < 0.001, misses one seed in a thousand); the pooled split is
# off by about 100 of 50000, chi2 about 0.8 (an alert there one seed in
# a hundred). This seed: mobile 422/594, chi2 29.1, p 7e-8; pooled
# chi2 1.78, p 0.18.
{
    my $log = generate('cache-bug');
    my $x = exp_of(report('--by', 'device', $log), 'checkout');
    ok(!$x->{srm}{alert} && $x->{srm}{p_value} > 0.001,
       "cache-bug: the pooled SRM does not alert (p = $x->{srm}{p_value})");
    my $m = segment_of($x, 'device', 'mobile');
    ok($m && $m->{srm}{alert} && $m->{srm}{p_value} < 0.001,
       'cache-bug: mobile\'s SRM alerts (p = '
       . ($m ? $m->{srm}{p_value} : 'none') . ')');
    for my $dev (qw(desktop tablet)) {
        my $s = segment_of($x, 'device', $dev);
        ok($s && !$s->{srm}{alert}, "cache-bug: ${dev}'s SRM does not alert");
    }
    my $n = 0;
    $n += $_->{visitors} for @{ $x->{segments} };
    my $pooled = 0;
    $pooled += $_->{visitors} for @{ $x->{variants} };
    is($n, $pooled, "cache-bug: the device segments hold every visitor "
       . "($pooled)");

    # exploratory: a segment's alert is reported, never an exit code
    my ($rc, $json, $err) = run_abstat('--fail-on', 'srm', '--by', 'device',
                                       $log);
    is($rc, 0, 'cache-bug: --fail-on srm does not read the segments')
        or diag $err;
    ok(segment_of(exp_of($json, 'checkout'), 'device', 'mobile')->{srm}{alert},
       'cache-bug: ... while mobile\'s alert is in that report');
}

done_testing();

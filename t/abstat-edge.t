#!/usr/bin/perl
# Issue 14, numeric edge cases and guardrails: every report here is also
# computed by the independent scipy/statsmodels reference
# (scripts/abstat-reference, run on the same log) and must match it in
# full, besides the specific checks.
#  - one price, one latency: ratio metrics have a variance of exactly 0,
#    so p, CI and df are null (not p ~ 1 from rounding noise);
#  - 0 of 200 converters against 5 of 200: Fisher's exact p (0.061), not
#    Welch's 0.025, flagged small_counts;
#  - relative CIs stop at -100%;
#  - one visitor with most of a variant's revenue is flagged without
#    --cap-revenue (and --max-visitor-share sets the limit);
#  - guardrails: 0% against 75% errors alerts (exit 11) through the exact
#    test; --guardrail-margin keeps a small harm from alerting, and so
#    does it with --sequential (a one-sided confidence sequence);
#  - the trend revises the past when a visitor turns multi-variant.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use AbstatTest qw(run_abstat log_line log_file report_ok exp_of variant_of
                  metric_of compare_json);

plan(skip_all => "$AbstatTest::BIN is not built (make)")
    unless -x $AbstatTest::BIN;
plan(skip_all => 'no /usr/bin/python3 with scipy and statsmodels')
    unless system('/usr/bin/python3', '-c',
                  'import scipy, statsmodels') == 0;

*L = \&log_line;
*report = \&report_ok;
*metric = \&metric_of;
*variant = \&variant_of;

# abstat's report and the reference's for the same options and log.
sub both {
    my ($opts, $log) = @_;
    my $got = report(@$opts, $log);
    open my $ref, '-|', 'scripts/abstat-reference', @$opts, $log
        or die "scripts/abstat-reference: $!";
    my $text = do { local $/; <$ref> };
    close $ref or die "scripts/abstat-reference failed: $?";
    my $want = JSON::PP->new->decode($text);
    my @d = compare_json($got, $want, '');
    ok(!@d, 'the report matches the reference')
        or diag join "\n", @d[0 .. ($#d < 15 ? $#d : 15)];
    return (exp_of($got, 'x'), exp_of($want, 'x'), $got);
}

my $t = 1_000_000;
sub at { return sprintf '%d.000', $t++ }

# N visitors alternating between a and b, each exposed (with the fields
# of EXPOSE->($i, $v), if given) and then given the lines that
# MORE->($i, $uid, $v) returns.
sub population {
    my ($prefix, $n, $more, $expose) = @_;
    my @l;
    for my $i (0 .. $n - 1) {
        my $uid = sprintf '%s%015d', $prefix, $i;
        my $v = $i % 2 ? 'b' : 'a';
        push @l, L(at(), $uid, exposures => "x:$v",
                   $expose ? $expose->($i, $v) : ());
        push @l, $more->($i, $uid, $v);
    }
    return @l;
}

subtest 'one price, one latency: ratio variance exactly 0' => sub {
    # 9.99 each, one to three orders
    my @l = population('p', 600, sub {
        my ($i, $uid) = @_;
        map { L(at(), $uid, events => "purchase;order=O$i.$_;revenue=9.99",
                request_time => '0.013') }
            1 .. ($i % 7 < 3 ? $i % 3 + 1 : 0);
    }, sub { (request_time => '0.013') });
    my ($x, $want) = both([], log_file(@l));
    for my $name (qw(average_order_value mean_latency)) {
        my $m = metric($x, $name, 'b');
        is($m->{value}, $m->{baseline_value}, "$name: the same on both sides");
        ok(!defined $m->{p_value} && !defined $m->{abs_ci}[0]
           && !defined $m->{df}, "$name: no variance, so null p, CI, df");
    }
    is(metric($x, 'average_order_value', 'b')->{value}, 9.99, 'AOV is 9.99');
};

subtest '0/200 vs 5/200 converters: Fisher exact' => sub {
    my @l = population('f', 400, sub {
        my ($i, $uid, $v) = @_;
        $v eq 'b' && $i < 10
            ? L(at(), $uid, events => "purchase;order=F$i;revenue=20") : ();
    });
    my ($x, $want) = both([], log_file(@l));
    my $m = metric($x, 'conversion_rate', 'b');
    ok($m->{small_counts}, 'flagged small_counts');
    cmp_ok(abs($m->{p_value} - 0.0609395), '<', 1e-6,
           "p = $m->{p_value}, scipy's fisher_exact");
    ok(!defined $m->{df}, 'no df for an exact test');
    ok(!metric($x, 'revenue_per_visitor', 'b')->{small_counts},
       'revenue is no share: Welch');
    my ($rc, $text) = AbstatTest::run_abstat_raw('report', '-q', '--width', '0',
                                                 log_file(@l));
    like($text, qr/^\s*conversion_rate\s.*\bexact$/m, 'text marks the row');
};

subtest 'relative CIs stop at -100%' => sub {
    # few buyers, the baseline's big: a wide interval around a drop
    my @l = population('r', 40, sub {
        my ($i, $uid, $v) = @_;
        my $rev = $v eq 'a' ? ($i < 6 ? 400 : 0) : ($i < 12 ? 5 : 0);
        $rev ? L(at(), $uid, events => "purchase;order=R$i;revenue=$rev") : ();
    });
    my ($x) = both([], log_file(@l));
    my $m = metric($x, 'revenue_per_visitor', 'b');
    ok($m->{rel_ci_clipped}, 'flagged rel_ci_clipped');
    is($m->{rel_ci}[0], -1, 'low end at -100%');
    cmp_ok($m->{rel_ci}[1], '>', $m->{rel_effect}, 'high end untouched');
};

subtest 'one visitor with most of the revenue' => sub {
    my @l = population('w', 200, sub {
        my ($i, $uid) = @_;
        my $rev = $i == 1 ? 3000 : $i % 5 == 0 || $i % 5 == 1 ? 30 : 0;
        $rev ? L(at(), $uid, events => "purchase;order=W$i;revenue=$rev") : ();
    });
    my $log = log_file(@l);
    my ($x) = both([], $log);
    my $b = variant($x, 'b');
    ok($b->{revenue_concentrated}, 'b is flagged');
    cmp_ok(abs($b->{top_visitor_revenue_share} - 3000 / (3000 + 39 * 30)),
           '<', 1e-12, 'the top visitor\'s share of b');
    ok(!variant($x, 'a')->{revenue_concentrated}, 'a is not');
    my ($rc, $text) = AbstatTest::run_abstat_raw('report', '-q', $log);
    like($text, qr/WARNING: one visitor has 71\.9% of b's revenue \(over 25%\)/,
         'text warns');
    (undef, $text) = AbstatTest::run_abstat_raw('report', '-q', '--format',
                                                'html', $log);
    like($text, qr/Revenue concentrated<\/strong>: one visitor has 71\.9%/,
         'the HTML verdict says so');
    ($x) = both(['--max-visitor-share', '90'], $log);
    ok(!variant($x, 'b')->{revenue_concentrated}, '--max-visitor-share 90');
    ($x) = both(['--cap-revenue', '99'], $log);
    ok(!variant($x, 'b')->{revenue_concentrated}, 'no warning with a cap');
    my ($rc2, $out, $err) = AbstatTest::run_abstat_raw('report',
        '--max-visitor-share', '0', $log);
    is($rc2, 2, '--max-visitor-share 0 is a usage error');
};

# b: 3 of its 4 requests fail, for every visitor (no variance either);
# a: none fail.
sub errors_log {
    my ($prefix) = @_;
    return log_file(population($prefix, 60, sub {
        my ($i, $uid, $v) = @_;
        map { L(at(), $uid, status => $v eq 'b' ? '502' : '200') } 1 .. 3;
    }));
}

# b is 10% slower than a, with spread.
sub slower_log {
    my ($prefix) = @_;
    return log_file(population($prefix, 800, sub { () }, sub {
        my ($i, $v) = @_;
        (request_time => sprintf('%.3f', ($v eq 'b' ? 0.110 : 0.100)
                                         + 0.002 * ($i % 11)));
    }));
}

subtest 'guardrail: 0% against 75% errors alerts' => sub {
    my $log = errors_log('g');
    my ($x) = both([], $log);
    my $m = metric($x, 'error_rate', 'b');
    is($m->{value}, 0.75, 'b: 75% errors');
    ok(!defined $m->{p_value}, 'both sides without variance: no Welch p');
    is($m->{harm}{test}, 'fisher-exact', 'the exact test of harm');
    cmp_ok($m->{harm}{p_value}, '<', 1e-20, "p of harm $m->{harm}{p_value}");
    my ($rc, undef, $err) = run_abstat('--fail-on', 'guardrail', $log);
    is($rc, 11, 'exit 11');
    like($err, qr/guardrail regressed: x: error_rate of b/, 'said on stderr');
};

subtest 'guardrail margin' => sub {
    # b is 10% slower (with spread): harmful at margin 0, not beyond 30%
    my $log = slower_log('m');
    my ($x) = both([], $log);
    my $m = metric($x, 'mean_latency', 'b');
    is($m->{harm}{test}, 'welch', 'Welch on the relative effect');
    cmp_ok($m->{harm}{p_value}, '<', 0.05, 'harm at margin 0');
    is((run_abstat('--fail-on', 'guardrail', $log))[0], 11, 'exit 11');
    ($x) = both(['--guardrail-margin', '30'], $log);
    $m = metric($x, 'mean_latency', 'b');
    is($m->{harm}{margin}, 0.3, 'margin 30% is 0.3');
    cmp_ok($m->{harm}{p_value}, '>', 0.5, 'no harm beyond 30%');
    is((run_abstat('--fail-on', 'guardrail', '--guardrail-margin', '30',
                   $log))[0], 0, 'exit 0 with the margin');
    is((AbstatTest::run_abstat_raw('report', '--guardrail-margin', '-1',
                                   $log))[0], 2, 'a negative margin is refused');
};

subtest 'guardrail, always-valid: one-sided, with its margin' => sub {
    # the latency population above: 10% slower is harm at margin 0 at
    # every look, and none beyond 30%; before, --sequential judged the
    # two-sided sequence, blind to the margin, and alerted at 30% too
    my $log = slower_log('s');
    my ($x) = both(['--sequential'], $log);
    my $m = metric($x, 'mean_latency', 'b');
    cmp_ok($m->{harm}{sequential_p_value}, '<', 0.05,
           "always-valid p of harm $m->{harm}{sequential_p_value}");
    cmp_ok($m->{harm}{sequential_p_value}, '>', $m->{harm}{p_value},
           '... above the fixed-horizon one-sided p');
    my ($rc, undef, $err) = run_abstat('--sequential', '--fail-on',
                                       'guardrail', $log);
    is($rc, 11, 'exit 11');
    like($err, qr/always-valid p = /, '... on the always-valid p');
    ($x) = both(['--sequential', '--guardrail-margin', '30'], $log);
    $m = metric($x, 'mean_latency', 'b');
    is($m->{harm}{sequential_p_value}, 1, 'no harm beyond 30%: p 1');
    is((run_abstat('--sequential', '--fail-on', 'guardrail',
                   '--guardrail-margin', '30', $log))[0], 0,
       'exit 0 with the margin');

    # 0% against 75% errors, where the fixed test is Fisher's
    $log = errors_log('z');
    ($x) = both(['--sequential'], $log);
    $m = metric($x, 'error_rate', 'b');
    cmp_ok($m->{harm}{sequential_p_value}, '<', 0.05,
           "0% against 75%: always-valid p $m->{harm}{sequential_p_value}");
    is((run_abstat('--sequential', '--fail-on', 'guardrail', $log))[0], 11,
       '... alerts');
};

subtest 'the trend is revised when a visitor turns multi-variant' => sub {
    my $day = 86400;
    my $d0 = 1_764_000_000 - 1_764_000_000 % $day;
    my @l = (
        L("$d0.000", 'v000000000000001', exposures => 'x:a'),
        L(($d0 + 60) . '.000', 'v000000000000001',
          events => 'purchase;order=T1;revenue=10'),
        L(($d0 + 120) . '.000', 'v000000000000002', exposures => 'x:b'),
        L(($d0 + 180) . '.000', 'v000000000000003', exposures => 'x:a'),
        # day 2: visitor 1 sees b too
        L(($d0 + $day + 60) . '.000', 'v000000000000001', exposures => 'x:b'),
        L(($d0 + $day + 120) . '.000', 'v000000000000004', exposures => 'x:b'),
    );
    my (undef, undef, $r) = both(['--bucket', 'day'], log_file(@l));
    my ($first) = grep { $_->{variant} eq 'a' } @{ exp_of($r, 'x')->{trend} };
    is($first->{visitors}, 1, 'day 1, a: the multi-variant visitor is gone');
    is($first->{cumulative_revenue}, 0, 'and so is its purchase');
};

done_testing();

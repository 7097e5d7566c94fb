# CUPED (abstat/cuped.c, history.c): on a log where visitors come back
# with their own history, the adjusted rows match the independent
# statsmodels/scipy reference (scripts/abstat-reference) to 1e-9, cut the
# variance of the revenue rows, and incremental --state runs whose
# watermarks fall inside visitors' lookback windows give exactly the full
# run. Also the options and the state's own lookback.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat_raw compare_json);

chdir "$FindBin::Bin/.." or die "$!";
my $seed = $ENV{ABSTAT_CUPED_SEED} // 20261202;
srand($seed);
note("seed $seed (ABSTAT_CUPED_SEED)");

my $dir = tempdir(CLEANUP => 1);

# 600 visitors over four days, each with a spending level and an error
# and latency profile of its own; each enters experiment cu at a random
# time and keeps visiting, before and after. b earns 8% more. Two in
# five visitors browse (add_to_cart on three in ten of their visits), the
# rest never, chosen without the random stream, so that the funnel event
# has a covariate of its own.
my $t0 = 1764000000;
my (@lines, $order);
for my $i (1 .. 600) {
    my $u = sprintf 'c%04d', $i;
    my $level = rand() < 0.3 ? 0 : 5 + rand 60;
    my $err = rand() < 0.5 ? 0 : rand 0.2;
    my $rt = 0.005 + rand 0.2;
    my $entry = $t0 + 86400 * (1 + rand 2.5);
    my $var = rand() < 0.5 ? 'a' : 'b';
    my $lift = $var eq 'b' ? 1.08 : 1;
    my $exposed = 0;
    for my $k (1 .. 4 + int rand 14) {
        my $t = $t0 + rand(4 * 86400);
        my $after = $t >= $entry;
        my %f = (status => rand() < $err ? '503' : '200',
                 request_time => sprintf('%.3f', $rt * (0.5 + rand)));
        if ($k == 1) {
            # the first exposure sets the entry
            $t = $entry;
            $after = 1;
        }
        $f{exposures} = "cu:$var" if $after;
        if ($level > 0 && rand() < 0.35) {
            my $rev = sprintf '%.2f', $level * (0.5 + rand) * ($after ? $lift : 1);
            $f{events} = rand() < 0.8
                ? 'purchase;order=O' . ++$order . ";revenue=$rev"
                : "purchase;revenue=$rev";
        } elsif (($i * 7 + $k * 13) % 10 < ($i % 5 < 2 ? 3 : 0)) {
            $f{events} = 'add_to_cart';
        }
        push @lines, [$t, AbstatTest::log_line(sprintf('%.3f', $t), $u, %f)];
    }
}
@lines = sort { $a->[0] <=> $b->[0] } @lines;

my $log = "$dir/access.log";
sub write_upto {
    my ($n) = @_;
    open my $fh, '>', $log or die;
    print $fh "$_->[1]\n" for @lines[0 .. $n - 1];
    close $fh;
}

my @opts = ('report', '--format', 'json', '-q', '--late', '60',
            '--cuped-lookback', '1d');

# --- against the reference ---
write_upto(scalar @lines);
my ($rc, $got, $err) = run_abstat_raw(@opts, $log);
is($rc, 0, 'full run: exit 0') or diag $err;
my $ref = `scripts/abstat-reference --cuped-lookback 86400 $log`;
is($?, 0, 'the reference ran');
my $g = JSON::PP::decode_json($got);
my @d = compare_json($g, JSON::PP::decode_json($ref), '');
ok(!@d, 'the report, CUPED rows included, matches the reference')
    or diag join "\n", @d[0 .. ($#d < 20 ? $#d : 20)];

my %row = map { $_->{metric} => $_ } @{ AbstatTest::exp_of($g, 'cu')->{metrics} };
my $rpv = $row{revenue_per_visitor}{cuped};
ok($rpv && $rpv->{theta} > 0.2,
   'revenue per visitor: adjusted, theta ' . ($rpv ? $rpv->{theta} : 'none'));
ok($rpv && $rpv->{variance_reduction} > 0.1,
   'the own history cuts the variance: '
   . ($rpv ? $rpv->{variance_reduction} : 'none'));
ok($rpv && $rpv->{ci}[1] - $rpv->{ci}[0]
           < $row{revenue_per_visitor}{abs_ci}[1] - $row{revenue_per_visitor}{abs_ci}[0],
   '... and narrows the CI');
for my $m (qw(average_order_value error_rate mean_latency)) {
    ok($row{$m}{cuped} && defined $row{$m}{cuped}{p_value},
       "$m: a ratio adjusted too");
}
my $cart = $row{'event:add_to_cart'}{cuped};
ok($cart && $cart->{theta} > 0.2 && $cart->{variance_reduction} > 0.05,
   'a funnel event: adjusted by whether the visitor had it before, theta '
   . ($cart ? "$cart->{theta}, variance reduction "
              . "$cart->{variance_reduction}" : 'none'));

# --- sequential and CUPED combine ---
# the always-valid sequence of an adjusted row is CUPED's: as the
# reference computes it, and narrower than the unadjusted sequence by
# the variance CUPED removes
($rc, my $sj, $err) = run_abstat_raw(@opts, '--sequential', $log);
is($rc, 0, '--sequential: exit 0') or diag $err;
$ref = `scripts/abstat-reference --cuped-lookback 86400 --sequential $log`;
my $sg = JSON::PP::decode_json($sj);
@d = compare_json($sg, JSON::PP::decode_json($ref), '');
ok(!@d, '--sequential with CUPED matches the reference')
    or diag join "\n", @d[0 .. ($#d < 20 ? $#d : 20)];
(undef, my $su) = run_abstat_raw(@opts, '--sequential', '--no-cuped', $log);
my %srow = map { $_->{metric} => $_ }
           @{ AbstatTest::exp_of($sg, 'cu')->{metrics} };
my %urow = map { $_->{metric} => $_ }
           @{ AbstatTest::exp_of(JSON::PP::decode_json($su), 'cu')->{metrics} };
my ($sa, $sb) = ($srow{revenue_per_visitor}{sequential},
                 $urow{revenue_per_visitor}{sequential});
is($sa->{estimate}, 'cuped', 'revenue per visitor: the sequence of CUPED');
is($sb->{estimate}, 'unadjusted', '... and without CUPED, of the raw one');
my $ratio = ($sa->{ci}[1] - $sa->{ci}[0]) / ($sb->{ci}[1] - $sb->{ci}[0]);
my $vr = $srow{revenue_per_visitor}{cuped}{variance_reduction};
ok(abs($ratio - sqrt(1 - $vr)) < 1e-9, sprintf 'the sequence narrows by '
   . 'sqrt(1 - variance reduction): %.6f', $ratio);
ok(abs(($sa->{ci}[0] + $sa->{ci}[1]) / 2
       - $srow{revenue_per_visitor}{cuped}{value}) < 1e-9,
   '... centred on the adjusted effect');
is($srow{conversion_rate}{sequential}{estimate}, 'cuped',
   'conversion rate: the sequence of CUPED too');

(undef, my $off) = run_abstat_raw(@opts, '--no-cuped', $log);
my $go = JSON::PP::decode_json($off);
ok(!grep({ $_->{cuped} } @{ AbstatTest::exp_of($go, 'cu')->{metrics} })
   && !exists $go->{cuped_lookback_seconds}, '--no-cuped: every row null');

# --- incremental runs equal the full run ---
my $state = "$dir/cu.state";
my ($mism, $runs) = (0, 0);
my $step = int(@lines / 12);
for (my $n = $step; $n <= @lines; $n += $step) {
    $n = scalar @lines if @lines - $n < $step;
    write_upto($n);
    my ($irc, $inc, $ierr) = run_abstat_raw(@opts, '--state', $state, $log);
    # --sequential, as --state implies it
    my (undef, $full) = run_abstat_raw(@opts, '--sequential', $log);
    $runs++;
    if ($irc != 0 || $inc ne $full) {
        $mism++;
        diag("after $n lines: rc $irc, $ierr");
        my @dd = compare_json(JSON::PP::decode_json($inc),
                              JSON::PP::decode_json($full), '');
        diag join "\n", @dd[0 .. ($#dd < 10 ? $#dd : 10)];
        last;
    }
}
is($mism, 0, "all $runs incremental reports equal the full run, CUPED "
             . 'rows included');

# the state keeps the lookback it was made with (said unless -q)
my @loud = grep { $_ ne '-q' } @opts;
($rc, undef, $err) = run_abstat_raw(@loud, '--cuped-lookback', '2d',
                                    '--state', $state, $log);
like($err, qr/keeps 86400 s of history/, 'another --cuped-lookback on the '
     . 'state: said') or diag $err;
my $nst = "$dir/none.state";
run_abstat_raw(@opts, '--no-cuped', '--state', $nst, $log);
($rc, my $o2, $err) = run_abstat_raw(@loud, '--state', $nst, $log);
is($rc, 0, 'a state made with --no-cuped: the run still reports');
ok(!grep({ $_->{cuped} } @{ AbstatTest::exp_of(JSON::PP::decode_json($o2),
                                               'cu')->{metrics} }),
   '... without CUPED, which it has no history for');
like($err, qr/keeps 0 s of history/, '... and says so');

# --- options ---
($rc, undef, $err) = run_abstat_raw('report', '--cuped-lookback', '3x', $log);
is($rc, 2, 'bad --cuped-lookback: usage error');
like($err, qr/bad --cuped-lookback '3x'/, '... naming the value');
($rc, undef, $err) = run_abstat_raw('report', '--retain', '1h',
                                    '--state', "$dir/r.state", $log);
is($rc, 2, 'a lookback longer than --retain with --state: usage error');
like($err, qr/longer than --retain/, '... saying why');

done_testing();

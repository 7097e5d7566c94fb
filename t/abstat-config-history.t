# --config-history: the SRM test against the weights each visitor entered
# under. A ramp from 50/50 to 80/20 with sticky visitors pools to neither
# split: against the history it is fine, against the newest weights alone
# it alerts (and the sticky block says the test assumes no change); a
# real mismatch under the history alerts; chi2, p and the expected shares
# are scipy's (scripts/abstat-srm-history-reference) to 1e-9 relative.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use AbstatTest qw(run_abstat run_abstat_raw log_line log_file report_ok
                  exp_of);

plan(skip_all => "$AbstatTest::BIN is not built (make)")
    unless -x $AbstatTest::BIN;
plan(skip_all => 'no /usr/bin/python3 with scipy')
    unless system('/usr/bin/python3', '-c', 'import scipy') == 0;

my $dir = tempdir(CLEANUP => 1);

sub write_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    print $fh $text;
    close $fh or die "$dir/$name: $!";
    return "$dir/$name";
}

sub conf {
    my ($a, $b, $more) = @_;
    return "http {\n    ab_experiment ramp {\n        sticky on;\n"
        . "        version 2;\n        variant control $a%;\n"
        . "        variant b $b%;\n    }\n$more}\n";
}

my $T0 = 1_800_000_000;         # the 50/50 configuration from here
my $T1 = $T0 + 20_000;          # the 80/20 one from here
my $conf50 = write_file('conf50.conf', conf(50, 50, ''));
my $conf80 = write_file('conf80.conf', conf(80, 20,
    "    ab_experiment other { variant x 1; variant y 1; }\n"));
# relative paths are the history file's directory's; ISO and epoch times
my $history = write_file('history.tsv', "# the ramp\n"
    . "2027-01-15T08:00:00Z\tconf50.conf\n$T1\tconf80.conf\n");
is($T0, 1_800_000_000, 'T0 is 2027-01-15T08:00:00Z');

# A reproducible uniform stream: the 32-bit LCG of Numerical Recipes
# (its products stay below 2^53, exact in a double).
my $state = 12345;
sub uniform {
    $state = (1664525 * $state + 1013904223) % 4294967296;
    return $state / 4294967296;
}

# Visitors entering before and after the ramp at the given shares of
# control; those of the first phase come back after it (sticky: same
# variant), which must not move their entry.
sub ramp_log {
    my ($first, $second, $n) = @_;
    my (@lines, @back);
    for my $i (0 .. $n - 1) {
        my $uid = sprintf 'r%015d', $i;
        my $v = uniform() < $first ? 'control' : 'b';
        push @lines, log_line(sprintf('%d.000', $T0 + 1 + $i), $uid,
                              exposures => "ramp:$v");
        push @back, [$uid, $v] if $i % 3 == 0;
    }
    for my $i (0 .. $n - 1) {
        my $uid = sprintf 's%015d', $i;
        my $v = uniform() < $second ? 'control' : 'b';
        push @lines, log_line(sprintf('%d.000', $T1 + 1 + $i), $uid,
                              exposures => "ramp:$v,other:" . ($i % 2 ? 'x' : 'y'));
    }
    push @lines, map { log_line(sprintf('%d.500', $T1 + 2), $_->[0],
                                exposures => "ramp:$_->[1]") } @back;
    return log_file(@lines);
}

sub reference {
    my ($log) = @_;
    open my $ref, '-|', '/usr/bin/python3',
        'scripts/abstat-srm-history-reference', $history, $log
        or die "scripts/abstat-srm-history-reference: $!";
    my $text = do { local $/; <$ref> };
    close $ref or die "scripts/abstat-srm-history-reference failed: $?";
    return JSON::PP->new->decode($text);
}

sub close_to {
    my ($got, $want, $what) = @_;
    my $ok = defined $got && defined $want
        && abs($got - $want) <= 1e-9 * (abs($want) || 1e-300);
    ok($ok, $what) or diag('got ' . ($got // 'null') . ', want '
                           . ($want // 'null'));
}

sub against_reference {
    my ($x, $want, $name) = @_;
    close_to($x->{srm}{chi2}, $want->{chi2}, "$name: chi2 is scipy's");
    close_to($x->{srm}{p_value}, $want->{p_value}, "$name: p is scipy's");
    for my $v (sort keys %{$want->{expected}}) {
        close_to($x->{srm}{expected}{$v}, $want->{expected}{$v},
                 "$name: expected share of $v");
    }
    my $n = 0;
    $n += $_->{visitors} for @{$x->{variants}};
    is($n, $want->{visitors}, "$name: the same visitors counted");
}

subtest 'a ramp 50/50 -> 80/20: fine against the history' => sub {
    my $log = ramp_log(0.5, 0.8, 3000);
    my $ref = reference($log);
    my $x = exp_of(report_ok('--config-history', $history, $log), 'ramp');
    is($x->{srm}{weights_source}, 'config-history', 'weights_source');
    is($x->{srm}{weight_changes}, 1, 'one weight change');
    ok(!$x->{srm}{alert}, "no alert (p = $x->{srm}{p_value})");
    ok(!exists $x->{srm}{warning}, 'no warning');
    against_reference($x, $ref->{ramp}, 'ramp');
    # a share between the two splits: the mixture, not either one
    cmp_ok($x->{srm}{expected}{control}, '>', 0.6, 'expected control > 60%');
    cmp_ok($x->{srm}{expected}{control}, '<', 0.7, 'expected control < 70%');

    # an experiment that appears later, its weights never changed
    my $o = exp_of(report_ok('--config-history', $history, $log), 'other');
    is($o->{srm}{weight_changes}, 0, 'other: no weight change');
    against_reference($o, $ref->{other}, 'other');

    # the newest weights alone: a false alarm, and the sticky warning
    my $r = report_ok('--nginx-conf', $conf80, $log);
    my $n = exp_of($r, 'ramp');
    is($n->{srm}{weights_source}, 'nginx-conf', 'nginx-conf alone');
    ok($n->{srm}{alert}, "alerts against 80/20 alone (p = $n->{srm}{p_value})");
    like($n->{srm}{warning} // '', qr/ramp is sticky: the SRM test assumes its weights never changed.*--config-history/,
         'says the test assumes the weights never changed');
    ok(!exists $n->{srm}{weight_changes}, 'no weight_changes without history');
    ok(!exists exp_of($r, 'other')->{srm}{warning}, 'not sticky: no warning');

    my ($rc, $text) = run_abstat_raw('report', '-q', '--width', '0',
                                     '--nginx-conf', $conf80, $log);
    like($text, qr/^WARNING: ramp is sticky: the SRM test assumes/m,
         'text: the warning');
    ($rc, $text) = run_abstat_raw('report', '-q', '--width', '0',
                                  '--config-history', $history, $log);
    like($text, qr/SRM: expected split from config-history \(the weights at each visitor's entry\); chi2 = /,
         'text: the source');
    ($rc, $text) = run_abstat_raw('report', '-q', '--format', 'html',
                                  '--nginx-conf', $conf80, $log);
    like($text, qr/<li><strong>SRM<\/strong>: ramp is sticky/, 'html: the warning');

    # --weights is explicit: it wins over the history
    my $w = exp_of(report_ok('--config-history', $history, '--weights',
                             'ramp=control:50,b:50', $log), 'ramp');
    is($w->{srm}{weights_source}, 'weights', '--weights wins');
    # the history and --nginx-conf together: the history's
    $w = exp_of(report_ok('--config-history', $history, '--nginx-conf',
                          $conf80, $log), 'ramp');
    is($w->{srm}{weights_source}, 'config-history', 'history over nginx-conf');
    ok(!exists $w->{srm}{warning}, 'no sticky warning with the history');
};

subtest 'segments: each against the weights its own visitors entered' => sub {
    # the first phase enters in hour 08, the second from 13:33 on
    my $log = ramp_log(0.5, 0.8, 3000);
    my $x = exp_of(report_ok('--config-history', $history, '--by', 'hour',
                             $log), 'ramp');
    my %seg = map { $_->{value} => $_ } @{$x->{segments} // []};
    is_deeply([sort keys %seg], ['2027-01-15T08', '2027-01-15T13',
        '2027-01-15T14'], 'one segment per hour of entry');
    is($seg{'2027-01-15T08'}{srm}{weights_source}, 'config-history',
       'a segment reads the history too');
    close_to($seg{'2027-01-15T08'}{srm}{expected}{control}, 0.5,
             'hour 08: entered under 50/50');
    close_to($seg{$_}{srm}{expected}{control}, 0.8,
             "hour $_: entered under 80/20") for '2027-01-15T13', '2027-01-15T14';
    ok(!$seg{$_}{srm}{alert}, "$_: no alert") for sort keys %seg;
};

subtest 'a real mismatch under the history alerts' => sub {
    # served 65/35 after the ramp, where the configuration said 80/20
    my $log = ramp_log(0.5, 0.65, 3000);
    my $x = exp_of(report_ok('--config-history', $history, $log), 'ramp');
    ok($x->{srm}{alert}, "alert (p = $x->{srm}{p_value})");
    against_reference($x, reference($log)->{ramp}, 'mismatch');
};

subtest 'visitors under a configuration without the experiment' => sub {
    my $early = write_file('early.tsv', "$T0\tconf80.conf\n");
    my $none = write_file('none.conf', "http { }\n");
    my $h = write_file('gap.tsv', "$T0\tnone.conf\n$T1\tconf80.conf\n");
    my $x = exp_of(report_ok('--config-history', $h, ramp_log(0.5, 0.8, 200)),
                   'ramp');
    ok(!defined $x->{srm}{p_value}, 'not testable');
    like($x->{srm}{warning}, qr/in effect from 2027-01-15T08:00:00Z .*has no ab_experiment ramp/,
         'says why');
};

subtest 'bad history files: usage errors' => sub {
    my $log = log_file(log_line("$T0.000", 'u000000000000001',
                                exposures => 'ramp:b'));
    for (["$T1\tconf50.conf\n$T0\tconf80.conf\n", qr/:2: times must increase/],
         ["$T0 conf50.conf\n", qr/:1: expected TIME<TAB>PATH/],
         ["yesterday\tconf50.conf\n", qr/:1: bad TIME/],
         ["$T0\tmissing.conf\n", qr/:1: .*missing\.conf: No such file/],
         ["# nothing\n", qr/no TIME<TAB>PATH line/])
    {
        my ($text, $re) = @$_;
        my $h = write_file('bad.tsv', $text);
        my ($rc, $out, $err) = run_abstat_raw('report', '-q',
                                              '--config-history', $h, $log);
        is($rc, 2, "exit 2 for $re");
        like($err, qr/^abstat: --config-history: .*$re/, 'the message');
        is($out, '', 'nothing on stdout');
    }
    my ($rc, $out, $err) = run_abstat_raw('report', '-q', '--config-history',
        $history, '--config-history', $history, $log);
    is($rc, 2, 'given twice: exit 2');
};

done_testing();

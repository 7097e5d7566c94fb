# abstat report --format prom (Prometheus text format, --output written
# atomically) and --fail-on srm,guardrail exit codes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat run_abstat_raw);

my $dir = tempdir(CLEANUP => 1);

# A log of one experiment: $n{variant} visitors, each with one request;
# $err{variant} of them answered 503. Visitor i of a variant orders when
# i % 4 == 0.
sub write_log {
    my ($name, $n, $err) = @_;
    my $path = "$dir/$name.log";
    open my $fh, '>', $path or die;
    my $t = 1763900000;
    for my $v (sort keys %$n) {
        for my $i (1 .. $n->{$v}) {
            my $u = "$v$i";
            my $status = $i <= ($err->{$v} // 0) ? 503 : 200;
            $t++;
            print $fh qq({"time":"$t","uid":"$u","exposures":"cta:$v","status":"$status","request_time":"0.1"}\n);
            print $fh qq({"time":"$t","uid":"$u","events":"purchase;order=$u;revenue=10"}\n)
                if $i % 4 == 0;
        }
    }
    close $fh;
    return $path;
}

my $fine  = write_log('fine', { control => 200, upsell => 200 }, {});
my $srm   = write_log('srm', { control => 300, upsell => 150 }, {});
my $guard = write_log('guard', { control => 200, upsell => 200 },
                      { upsell => 60 });
my $both  = write_log('both', { control => 300, upsell => 150 },
                      { upsell => 60 });
# Errors in the baseline: the guardrail moved, but for the better.
my $better = write_log('better', { control => 200, upsell => 200 },
                       { control => 60 });

for my $case ([$fine, 0, 'nothing fires'], [$srm, 10, 'SRM alert'],
              [$guard, 11, 'guardrail regression'], [$both, 12, 'both'],
              [$better, 0, 'a guardrail that improved'])
{
    my ($log, $want, $what) = @$case;
    my ($rc, $json) = run_abstat('--fail-on', 'srm,guardrail', $log);
    is($rc, $want, "--fail-on srm,guardrail, $what: exit $want");
    ok($json && $json->{experiments}, '... and the report is written');
}

my ($rc, undef, $msg) = run_abstat('--fail-on', 'srm,guardrail', $both);
like($msg, qr/^abstat: SRM alert: cta: .*p = /m, 'the SRM alert is said on stderr');
like($msg, qr/^abstat: guardrail regressed: cta: error_rate of upsell is /m,
     '... and the guardrail');
($rc, undef, $msg) = run_abstat('--fail-on', 'srm,guardrail', $fine);
is($msg, '', 'nothing on stderr when nothing fires');
($rc) = run_abstat('--fail-on', 'srm', $guard);
is($rc, 0, '--fail-on srm ignores a guardrail regression');
($rc) = run_abstat('--fail-on', 'guardrail', $both);
is($rc, 11, '--fail-on guardrail: only the guardrail code');
($rc) = run_abstat($both);
is($rc, 0, 'without --fail-on alerts do not change the exit code');
my ($rc2, $out, $err) = run_abstat_raw('report', '--fail-on', 'latency', $both);
is($rc2, 2, 'bad --fail-on: usage error');
like($err, qr/bad --fail-on 'latency'/, '... said on stderr');

# Prometheus format.
my $prom = "$dir/abstat.prom";
($rc, $out, $err) = run_abstat_raw('report', '-q', '--format', 'prom',
                                   '--output', $prom, $both);
is($rc, 0, '--format prom --output: exit 0');
is($out, '', '... nothing on stdout');
ok(-f $prom, '... the file is written');
is((stat $prom)[2] & 0777, 0644, '... readable by the collector (0644)');
is(scalar(() = glob "$prom.tmp.*"), 0, '... no temporary file left');

my ($orc, $oout, $oerr) = run_abstat_raw('report', '-q', '--output',
                                          "$dir/no/such/dir/r.txt", $fine);
is($orc, 3, '--output into a missing directory: exit 3');
like($oerr, qr{\Q$dir\E/no/such/dir/r\.txt: cannot create}, '... naming the file');

# Grouping: each family's HELP, then TYPE, then all its samples, and no
# family twice. Returns the samples by name and labels, and what is wrong.
sub parse_prom {
    my ($text) = @_;
    my (%seen, %series, $family, $typed, @bad);
    for my $l (split /\n/, $text) {
        if ($l =~ /^# HELP (\w+) \S/) {
            push @bad, "family $1 twice" if $seen{$1}++;
            $family = $1;
            $typed = 0;
        } elsif ($l =~ /^# TYPE (\w+) gauge$/) {
            push @bad, "TYPE $1 not after its HELP" if !$family || $1 ne $family;
            $typed = 1;
        } elsif ($l =~ /^(\w+)(\{[^}]*\})? (\S+)$/) {
            my ($name, $labels, $v) = ($1, $2 // '', $3);
            push @bad, "sample of $name outside its family"
                if !$typed || $name ne $family;
            push @bad, "bad value $v" if $v !~ /^(NaN|[+-]Inf|-?[\d.]+(e[+-]?\d+)?)$/;
            push @bad, "series twice: $name$labels" if $series{"$name$labels"}++;
            $series{"$name$labels"} = $v;
        } else {
            push @bad, "unparsable line: $l";
        }
    }
    return (\%series, \@bad);
}

my ($series_ref, $bad_ref) = parse_prom(AbstatTest::slurp($prom));
my %series = %$series_ref;
my @bad = @$bad_ref;
is_deeply(\@bad, [], 'prom: HELP/TYPE grouping, one series each, parsable')
    or diag(join "\n", @bad[0 .. 4]);

my ($jrc, $json) = run_abstat($both);
my $x = $json->{experiments}[0];
for my $v (@{ $x->{variants} }) {
    my $l = qq({experiment="cta",variant="$v->{name}"});
    is($series{"abstat_visitors$l"}, $v->{visitors}, "visitors of $v->{name}");
    is($series{"abstat_orders$l"}, $v->{orders}, "orders of $v->{name}");
    cmp_ok(abs($series{"abstat_revenue$l"} - $v->{revenue}), '<', 1e-9,
           "revenue of $v->{name}");
}
is($series{'abstat_srm_alert{experiment="cta"}'}, 1, 'SRM alert');
cmp_ok(abs($series{'abstat_srm_p_value{experiment="cta"}'}
           - $x->{srm}{p_value}), '<=', 1e-12 + 1e-9 * $x->{srm}{p_value},
       'SRM p-value');
for my $m (@{ $x->{metrics} }) {
    my $l = qq({experiment="cta",variant="upsell",metric="$m->{metric}"});
    for ([value => 'abstat_metric_value'], [abs_effect => 'abstat_metric_effect'],
         [p_value => 'abstat_metric_p_value'])
    {
        my ($key, $fam) = @$_;
        my $got = $series{"$fam$l"};
        if (!defined $m->{$key}) {
            is($got, 'NaN', "$fam $m->{metric}: NaN when undefined");
        } else {
            cmp_ok(abs($got - $m->{$key}), '<=', 1e-12 + 1e-9 * abs($m->{$key}),
                   "$fam $m->{metric}");
        }
    }
    my $b = qq({experiment="cta",variant="control",metric="$m->{metric}"});
    ok(exists $series{"abstat_metric_value$b"}, "baseline value of $m->{metric}");
}

# The verdict gauges are the verdicts: abstat_guardrail_regressed is 1
# exactly for the guardrails --fail-on guardrail names, with the p it
# judged, at a fixed horizon and always-valid. The generated logs'
# error_rate regresses at a fixed horizon (one-sided p 0.04) and not at
# every look; an alert rule on the fixed p would fire on every hourly
# report.
my @gen = ('-e', 'checkout_cta', 't/data/abstat/gen/ab.log.1',
           't/data/abstat/gen/ab.log');
for my $mode ('--no-sequential', '--sequential') {
    my (undef, $ptext) = run_abstat_raw('report', '-q', '--format', 'prom',
                                        $mode, @gen);
    my ($ps) = parse_prom($ptext);
    my ($frc, undef, $ferr) = run_abstat_raw('report', '-q', '--fail-on',
                                             'guardrail', $mode, @gen);
    my (undef, $j) = run_abstat($mode, @gen);
    my %named = map { $_ => 1 } $ferr =~ /guardrail regressed: \S+: (\w+) of/g;
    my $gauged = 0;
    for my $m (grep { $_->{role} eq 'guardrail' } @{ $j->{experiments}[0]{metrics} }) {
        my $l = qq({experiment="checkout_cta",variant="$m->{variant}",metric="$m->{metric}"});
        my $reg = $ps->{"abstat_guardrail_regressed$l"};
        $gauged += $reg;
        is($reg, $named{$m->{metric}} ? 1 : 0,
           "$mode: $m->{metric} regressed $reg, as --fail-on says");
        my $p = $mode eq '--sequential' ? $m->{harm}{sequential_p_value}
                                        : $m->{harm}{p_value};
        cmp_ok(abs($ps->{"abstat_metric_verdict_p_value$l"} - $p), '<=',
               1e-12 + 1e-9 * $p, "$mode: $m->{metric}: the p it judged");
    }
    is($frc, $gauged ? 11 : 0, "$mode: exit $frc with $gauged regressed");
    my $el = 'abstat_guardrail_regressed{experiment="checkout_cta",'
           . 'variant="upsell",metric="error_rate"}';
    is($ps->{$el}, $mode eq '--sequential' ? 0 : 1,
       "$mode: error_rate " . ($mode eq '--sequential' ? 'holds' : 'regressed'));
}

done_testing();

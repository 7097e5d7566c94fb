# abstat report --by: the options and their errors, the value taken at
# entry (whatever the order of lines and files), --by-top pooling, the
# visitor and field dimensions, a segment being the experiment restricted
# to its visitors, --state equal to one run, and every format. The
# numbers against the independent reference are tested with it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use List::Util qw(sum shuffle);
use AbstatTest qw(run_abstat run_abstat_raw compare_json log_line log_file
                  report_ok exp_of segment_log);

my $dir = tempdir(CLEANUP => 1);
my @lines = segment_log(1500, 5);
my $log = log_file(@lines);
my @by3 = ('--by', 'device', '--by', 'visitor', '--by', 'field:country');

sub segs { my ($x, $dim) = @_; grep { $_->{dimension} eq $dim } @{ $x->{segments} } }
sub seg_of { my ($x, $dim, $v) = @_; (grep { $_->{value} eq $v } segs($x, $dim))[0] }
sub values_of { my ($x, $dim) = @_; [map { $_->{value} } segs($x, $dim)] }

# ---- options ----
for my $bad (
    [['--by', 'browser'], qr/--by 'browser': unknown --by dimension/],
    [['--by', 'field:'], qr/bad field name/],
    [['--by', 'field:a b'], qr/bad field name/],
    [['--by', 'device', '--by', 'device'], qr/given twice/],
    [[@by3, '--by', 'day'], qr/at most 3 --by dimensions/],
    [['--by-top', '0', '--by', 'device'], qr/--by-top must be/],
    [['--by-top', '1.5', '--by', 'device'], qr/--by-top must be/],
    [['--by', 'device', '--table', 'segments'], qr/--table segments needs --format csv/],
    [['--format', 'csv', '--table', 'segments'], qr/--table segments needs --format csv and --by/],
) {
    my ($args, $re) = @$bad;
    my ($rc, $out, $err) = run_abstat_raw('report', @$args, $log);
    is($rc, 2, "usage error: @$args");
    like($err, $re, '... says why');
}
my ($rc, $out, $err) = run_abstat_raw('report', '--by');
is($rc, 2, '--by without a value: usage error');

# ---- no --by: no segment keys ----
my $plain = report_ok($log);
ok(!exists $plain->{segmentation}, 'no segmentation without --by');
ok(!exists exp_of($plain, 'seg')->{$_}, "no $_ without --by")
    for qw(segments heterogeneity segment_multiplicity);

# ---- the report with three dimensions ----
my $r = report_ok(@by3, $log);
my $x = exp_of($r, 'seg');
is_deeply($r->{segmentation}{dimensions}, ['device', 'visitor', 'field:country'],
          'segmentation: the dimensions in --by order');
is($r->{segmentation}{top}, 10, '--by-top default 10');
like($r->{segmentation}{note}, qr/exploratory/, 'the note says exploratory');
is_deeply(values_of($x, 'device'), [qw(desktop mobile tablet)],
          'device: the entry lines\' classes, never the later curl (bot)');
is_deeply(values_of($x, 'visitor'), [qw(new returning)], 'visitor: new, returning');
is_deeply(values_of($x, 'field:country'), ['DE', 'ES', 'FR', 'IT', 'NL', 'US', '(none)'],
          'country: bytewise, (none) last, never the later ZZ');
my $total = sum(map { $_->{visitors} } @{ $x->{variants} });
for my $dim ('device', 'visitor', 'field:country') {
    is(sum(map { $_->{visitors} } segs($x, $dim)), $total,
       "$dim: every visitor in exactly one segment");
}
for my $s (@{ $x->{segments} }) {
    is($s->{visitors}, sum(map { $_->{visitors} } @{ $s->{variants} }),
       "$s->{dimension}=$s->{value}: visitors is the sum of its variants'");
}
is(scalar @{ $x->{heterogeneity} },
   3 * scalar(@{ $x->{metrics} }), 'heterogeneity: a row per dimension and metric row');
my ($het) = grep { $_->{dimension} eq 'device' && $_->{metric} eq 'revenue_per_visitor' }
            @{ $x->{heterogeneity} };
is($het->{segments}, 3, 'Cochran\'s Q over the 3 devices');
is($het->{df}, 2, '... df = segments - 1');
ok($het->{p_value} > 0 && $het->{p_value} <= 1, '... a p-value');
my $m = $x->{segment_multiplicity};
is($m->{segments}, 12, 'multiplicity: 12 segments');
is($m->{tests}, sum(map { scalar @{ $_->{metrics} } } @{ $x->{segments} }),
   '... tests: every segment metric row');
is($m->{flags}, scalar(grep { $_->{flag} } map { @{ $_->{metrics} } } @{ $x->{segments} }),
   '... flags: the rows flagged');
is($m->{expected_flags}, 0.05 * $m->{tests}, '... expected: alpha x tests');
my @rows = map { @{ $_->{metrics} } } @{ $x->{segments} };
ok(!grep({ defined $_->{p_value_adjusted} || defined $_->{power}
           || defined $_->{ci_adjusted} } @rows),
   'segment rows: no Holm, no adjusted CI, no power');
my $flags_right = grep {
    my ($lo, $hi) = @{ $_->{test} eq 'relative'
                       ? ($_->{cuped} ? $_->{cuped}{rel_ci} : $_->{rel_ci})
                       : ($_->{cuped} ? $_->{cuped}{ci} : $_->{abs_ci}) };
    my $out = defined $lo && defined $hi && ($lo > 0 || $hi < 0);
    !!$out == !!$_->{flag}
} @rows;
is($flags_right, scalar @rows, 'flag: exactly the rows whose test interval excludes 0');

# ---- a segment is the experiment restricted to its visitors ----
my $one = exp_of(report_ok('--by', 'field:nosuchkey', $log), 'seg');
is(scalar @{ $one->{segments} }, 1, 'a missing field: one segment');
my $s = $one->{segments}[0];
is($s->{value}, '(none)', '... (none)');
my %skip = map { $_ => 1 } qw(p_value_adjusted ci_adjusted ci_adjusted_level
                               power flag);
my @pooled = map { my %h = %$_; delete @h{keys %skip}; \%h } @{ $one->{metrics} };
my @inseg = map { my %h = %$_; delete @h{keys %skip}; \%h } @{ $s->{metrics} };
my @d = (compare_json($s->{variants}, $one->{variants}, 'variants'),
         compare_json($s->{srm}, $one->{srm}, 'srm'),
         compare_json(\@inseg, \@pooled, 'metrics'));
is_deeply(\@d, [], 'the one segment equals the experiment (variants, srm, metrics)');

# ---- at entry, whatever the order ----
{
    my @e = (
        log_line('2000.000', 'v1', exposures => 'x:a', ua => 'Mozilla/5.0 (iPhone) Mobile', country => 'FR'),
        log_line('1000.000', 'v1', exposures => 'x:a', ua => 'Mozilla/5.0 (Windows NT 10.0)', country => 'DE'),
        log_line('3000.000', 'v1', exposures => 'x:a', ua => 'Mozilla/5.0 (iPad)', uid_new => '1'),
        # a tie of entry times: the bytewise smaller value per dimension
        log_line('1000.000', 'v2', exposures => 'x:b', country => 'US', uid_new => '1'),
        log_line('1000.000', 'v2', exposures => 'x:b', country => 'AT'),
        # forced: never an entry
        log_line('0500.000', 'v3', forced => 'x:a', country => 'SE'),
        log_line('4000.000', 'v3', exposures => 'x:a', country => 'NO'),
        # an exposure outside --since: not the entry either (below)
        log_line('0100.000', 'v4', exposures => 'x:b', country => 'PL'),
        log_line('5000.000', 'v4', exposures => 'x:b', country => 'CZ'),
    );
    my @runs;
    for my $order ([0 .. $#e], [reverse 0 .. $#e], [shuffle 0 .. $#e]) {
        my $f1 = log_file(@e[@$order[0 .. 3]]);
        my $f2 = log_file(@e[@$order[4 .. $#e]]);
        push @runs, report_ok('--since', '200', '--by', 'field:country',
                              '--by', 'device', '--by', 'visitor', $f2, $f1);
    }
    my $e0 = exp_of($runs[0], 'x');
    my %country = map { $_->{value} => $_->{visitors} } segs($e0, 'field:country');
    is_deeply(\%country, { DE => 1, AT => 1, NO => 1, CZ => 1 },
              'country of the earliest unforced exposure in the window; ties: bytewise smaller');
    is(seg_of($e0, 'device', 'desktop')->{visitors}, 1, 'v1: desktop, its entry line\'s');
    is_deeply({ map { $_->{value} => $_->{visitors} } segs($e0, 'visitor') },
              { new => 1, returning => 3 },
              'visitor: the entry line\'s uid_new (v2\'s tie keeps "new" < "returning")');
    is_deeply([compare_json($runs[$_], $runs[0], '')], [],
              "line and file order $_ gives the same report") for 1, 2;
}

# ---- shuffled lines: the same report ----
{
    srand(3);
    my $shuf = log_file(shuffle @lines);
    my $r2 = report_ok(@by3, $shuf);
    is_deeply([compare_json($r2, $r, '')], [], 'shuffled lines: the same report');
}

# ---- visitor and field values ----
{
    my @v = (
        log_line('10.000', 'a', exposures => 'y:a', uid_new => '1', plan => 'pro'),
        log_line('11.000', 'b', exposures => 'y:b', uid_new => '', plan => ''),
        log_line('12.000', 'c', exposures => 'y:a', plan => 'pro'),
        '{"time":"13.000","uid":"d","exposures":"y:b","uid_new":true,"plan":42}',
        '{"time":"14.000","uid":"e","exposures":"y:a","plan":null}',
        '{"time":"15.000","uid":"f","exposures":"y:b","plan":{"k":1}}',
        '{"time":"16.000","uid":"g","exposures":"y:b","plan":"a,\\"b\\""}',
    );
    my $y = exp_of(report_ok('--by', 'visitor', '--by', 'field:plan',
                             '--by', 'hour', log_file(@v)), 'y');
    is_deeply({ map { $_->{value} => $_->{visitors} } segs($y, 'visitor') },
              { new => 2, returning => 5 }, 'uid_new "1" or true: new');
    is_deeply(values_of($y, 'field:plan'), ['42', 'a,"b"', 'pro', '(none)'],
              'field: strings and numbers; empty, null and objects (none)');
    is(seg_of($y, 'field:plan', '(none)')->{visitors}, 3, '... three of them');
    is_deeply(values_of($y, 'hour'), ['1970-01-01T00'], 'hour: UTC');
    my ($c, $csv) = run_abstat_raw('report', '-q', '--format', 'csv', '--table',
                                   'segments', '--by', 'field:plan', log_file(@v));
    like($csv, qr/^y,a,field:plan,"a,""b""",1,/m, 'CSV quotes a value that needs it');
}

# ---- --by-top ----
{
    my @t;
    my %n = (A => 5, B => 4, C => 4, D => 1, other => 1);
    my $i = 0;
    for my $v (sort keys %n) {
        push @t, log_line(sprintf('%d.000', 100 + $i), 'u' . $i++,
                          exposures => 'z:' . ($i % 2 ? 'a' : 'b'), tier => $v)
            for 1 .. $n{$v};
    }
    push @t, log_line('999.000', 'nobody', exposures => 'z:a');
    my $f = log_file(@t);
    my $z = exp_of(report_ok('--by', 'field:tier', '--by-top', '2', $f), 'z');
    is_deeply({ map { $_->{value} => $_->{visitors} } segs($z, 'field:tier') },
              { A => 5, B => 4, other => 6, '(none)' => 1 },
              '--by-top 2: A and B (a tie broken by value), the rest and "other" pooled, (none) apart');
    is_deeply(values_of($z, 'field:tier'), ['A', 'B', 'other', '(none)'],
              '... in order, other then (none) last');
    $z = exp_of(report_ok('--by', 'field:tier', $f), 'z');
    is(scalar(segs($z, 'field:tier')), 6, 'default top 10: all kept');
    $z = exp_of(report_ok('--by', 'device', '--by-top', '1', log_file(segment_log(60, 2))), 'seg');
    is(scalar(segs($z, 'device')), 3, '--by-top leaves device whole');
}

# ---- --state: incremental runs equal one ----
{
    my $state = "$dir/seg.state";
    my $half = int(@lines / 2);
    my $grow = "$dir/grow.log";
    open my $g, '>', $grow or die;
    print $g "$_\n" for @lines[0 .. $half - 1];
    close $g;
    my @opt = (@by3, '--no-sequential', '--state', $state);
    my $r1 = report_ok(@opt, $grow);
    open $g, '>>', $grow or die;
    print $g "$_\n" for @lines[$half .. $#lines];
    close $g;
    my $inc = report_ok(@opt, $grow);
    my $full = report_ok(@by3, '--no-sequential', $log);
    my ($a, $b) = map { my %c = %$_; delete $c{input}; \%c } $inc, $full;
    is_deeply([compare_json($a, $b, '')], [], 'two runs with --state: the report of one');
    my ($c1, $o1) = run_abstat_raw('report', '-q', '--format', 'json', @opt, $grow);
    my ($c2, $o2) = run_abstat_raw('report', '-q', '--format', 'json', @by3,
                                   '--no-sequential', $grow);
    $_ =~ s/"(?:files|lines|bad_lines)":\s*\d+//g for $o1, $o2;
    is($o1, $o2, '... byte for byte (the input counts aside)');
    ($rc, $out, $err) = run_abstat_raw('report', '-q', '--by', 'device',
                                       '--state', $state, $grow);
    is($rc, 5, 'a state made with another --by set: exit 5');
    like($err, qr/made with --by 'device,visitor,field:country', this run asks for --by 'device'/,
         '... naming both sets');
    ($rc, $out, $err) = run_abstat_raw('report', '-q', '--state', $state, $grow);
    is($rc, 5, '... and without --by');
    ($rc, $out, $err) = run_abstat_raw('state', 'prune', '--state', $state,
                                       '--experiment', 'seg', '-f', 'json', @by3);
    is($rc, 0, 'state prune with the same --by') or diag($err);
    my $pr = eval { JSON::PP->new->decode($out) };
    is(scalar @{ exp_of($pr, 'seg')->{segments} // [] }, 12, '... reports the segments');
}

# ---- every format ----
{
    my ($c, $text) = run_abstat_raw('report', '-q', @by3, $log);
    is($c, 0, 'text: exit 0');
    like($text, qr/^Segments \(by the entry line/m, 'text: the segments table');
    like($text, qr/^  device=mobile +control +\d+/m, '... a row per segment and variant');
    like($text, qr/^Heterogeneity by device, revenue_per_visitor treat: Cochran's Q = \S+ over 3/m,
         '... the heterogeneity lines');
    like($text, qr/^Note: segment results are exploratory.*\n.*expected/m, '... the note');
    unlike((run_abstat_raw('report', '-q', $log))[1], qr/Segments/, 'text: none without --by');

    my ($c2, $csv) = run_abstat_raw('report', '-q', '-f', 'csv', '--table',
                                    'segments', @by3, $log);
    my @csv = split /\n/, $csv;
    like($csv[0], qr/^experiment,baseline,dimension,segment,segment_visitors,metric,variant,/,
         'csv --table segments: the header');
    is(scalar(@csv) - 1, $m->{tests}, '... a row per segment metric row');
    my ($mob) = grep { /^seg,control,device,mobile,\d+,revenue_per_visitor,treat,/ } @csv;
    my $mj = (grep { $_->{metric} eq 'revenue_per_visitor' }
              @{ seg_of($x, 'device', 'mobile')->{metrics} })[0];
    my @f = split /,/, $mob;
    ok(abs($f[13] - $mj->{rel_effect}) < 1e-12, '... the JSON report\'s numbers');

    my ($c3, $prom) = run_abstat_raw('report', '-q', '-f', 'prom', @by3, $log);
    my @series = $prom =~ /^abstat_segment_srm_p_value\{experiment="seg",dimension="([^"]+)",segment="([^"]+)"\} (\S+)$/mg;
    is(scalar(@series) / 3, 12, 'prom: a segment SRM p per segment');
    ok(abs($series[2] - seg_of($x, $series[0], $series[1])->{srm}{p_value}) < 1e-12,
       '... the JSON report\'s');
    unlike($prom, qr/abstat_segment_(?!srm_p_value)/, '... and nothing else of segments');

    my ($c4, $html) = run_abstat_raw('report', '-q', '-f', 'html', @by3, $log);
    my @forest = $html =~ /<svg class="forest" data-dimension="([^"]+)"/g;
    is_deeply(\@forest, ['device', 'visitor', 'field:country'], 'html: a forest plot per dimension');
    is(scalar(() = $html =~ /<circle[^>]*data-segment=/g), 12,
       '... a marker per segment (one treatment)');
}

done_testing();

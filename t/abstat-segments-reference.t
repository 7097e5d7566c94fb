# abstat report --by (issue 17) against the independent scipy reference
# (scripts/abstat-reference --by, committed by `make reference` as
# t/data/abstat/expected-segments*.json): every segment's variants,
# metrics, CIs, SRM and the heterogeneity tests within 1e-9 relative,
# everything else exactly, on a log where User-Agents, minted ids and
# countries vary (gen-abstat-logs --segments), over all five kinds of
# dimension, with CUPED (on by default), --sequential, --cap-revenue, and
# --state: incremental runs over the rotated files and over one growing
# file equal the full run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use AbstatTest qw(run_abstat run_abstat_raw compare_json read_json
                  by_supported);

plan skip_all => 'this abstat has no --by (issue 17): segment reports not '
               . 'compared with the reference' unless by_supported();

my $data = 't/data/abstat';
open my $sf, '<', "$data/segment-scenarios.txt"
    or die "$data/segment-scenarios.txt: $!";
my %scenario;
while (my $line = <$sf>) {
    next if $line =~ /^#/ or $line !~ /\S/;
    my ($expected, @args) = split ' ', $line;
    $scenario{$expected} = \@args;
}
close $sf;
is_deeply([sort keys %scenario],
          [qw(expected-segments-state.json expected-segments-time.json
              expected-segments.json)], 'the three segment scenarios');

sub matches {
    my ($got, $want, $name) = @_;
    my @diffs = compare_json($got, $want, '');
    ok(!@diffs, "$name: report matches the reference")
        or diag join "\n", @diffs[0 .. ($#diffs < 20 ? $#diffs : 20)];
}

# The reference's segments are not empty: a comparison of nothing with
# nothing would pass whatever abstat does.
sub dimensions_of {
    my ($r) = @_;
    my %d;
    for my $x (@{ $r->{experiments} }) {
        $d{ $_->{dimension} }++ for @{ $x->{segments} };
        $d{"heterogeneity $_->{dimension}"}++ for @{ $x->{heterogeneity} };
    }
    return \%d;
}

my (%kinds, %full);
for my $expected (sort keys %scenario) {
    my $want = read_json("$data/$expected");
    my $dims = dimensions_of($want);
    ok(keys %$dims >= 6, "$expected: the reference has segments and "
       . "heterogeneity tests (" . join(', ', sort keys %$dims) . ')');
    $kinds{ $_ =~ /^field:/ ? 'field' : $_ }++ for keys %$dims;
    my ($rc, $got, $err) = run_abstat(@{ $scenario{$expected} });
    is($rc, 0, "$expected: exit 0") or diag $err;
    matches($got, $want, $expected);
    $full{$expected} = $got;
}
ok($kinds{$_}, "a scenario has --by $_")
    for qw(device visitor field day hour);

# --state: the rotated files oldest first, one more each run (the
# previous ones given again, as a glob of the log directory would), then
# one file that grows by appends, the last cut inside a line.
my @args = @{ $scenario{'expected-segments-state.json'} };
my @opts = grep { !m{/gen-seg/ab\.log} } @args;
my @files = grep { m{/gen-seg/ab\.log} } @args;
is(scalar @files, 5, 'the state scenario reads five rotated files');
my $want = read_json("$data/expected-segments-state.json");
my $dir = tempdir(CLEANUP => 1);

my $got;
for my $k (1 .. @files) {
    my ($rc, $json, $err) = run_abstat('--state', "$dir/rotated.state",
                                       @opts, @files[0 .. $k - 1]);
    is($rc, 0, "incremental run $k of " . @files . ': exit 0') or diag $err;
    $got = $json;
}
matches($got, $want, 'incremental runs over the rotated files');
# and abstat's own full run, whatever the reference says
my $one = $full{'expected-segments-state.json'};
matches($got, $one, 'incremental runs over the rotated files, against '
        . 'the full run');

# The same lines in one plain file written in four pieces: input.files
# and the bad-line samples (file, line) are those of another layout.
my $all = '';
for my $f (@files) {
    open my $fh, '-|', 'gzip', '-dc', $f or die "gzip -dc $f: $!";
    local $/;
    $all .= <$fh>;
    close $fh or die "gzip -dc $f failed";
}
my $log = "$dir/ab.log";
my @cuts = (int(length($all) * 0.3), int(length($all) * 0.55),
            int(length($all) * 0.8) + 7, length($all));
$cuts[$_] = index($all, "\n", $cuts[$_]) + 1 for 0, 1;
unlike(substr($all, $cuts[2] - 1, 1), qr/\n/,
       'the third piece ends inside a line');
my $from = 0;
for my $i (0 .. $#cuts) {
    open my $fh, '>>', $log or die "$log: $!";
    print $fh substr($all, $from, $cuts[$i] - $from);
    close $fh or die;
    $from = $cuts[$i];
    my ($rc, $json, $err) = run_abstat('--state', "$dir/growing.state",
                                       @opts, $log);
    is($rc, 0, "growing file, run " . ($i + 1) . ': exit 0') or diag $err;
    $got = $json;
}
for my $r ($got, $want, $one) {
    delete @{ $r->{input} }{qw(files bad_samples)} if ref $r eq 'HASH';
}
matches($got, $want, 'incremental runs over a growing file');
matches($got, $one, 'incremental runs over a growing file, against the '
        . 'full run');

done_testing();

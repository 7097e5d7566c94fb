# Helpers of the abstat tests: run the binary, read JSON, compare reports.
package AbstatTest;
use strict;
use warnings;
use B ();
use Exporter 'import';
use File::Temp qw(tempfile);
use JSON::PP ();

our @EXPORT_OK = qw(run_abstat run_abstat_raw compare_json read_json
                    log_line log_file report_ok exp_of variant_of metric_of
                    by_supported segment_of segment_log);

# Paths in the tests (build/abstat, t/data/abstat) are from the repository
# root, wherever prove was started.
use File::Basename ();
use File::Spec ();
BEGIN {
    chdir File::Spec->catdir(File::Basename::dirname(File::Spec->rel2abs(__FILE__)),
                             '..', '..') or die "chdir: $!";
}

our $BIN = $ENV{ABSTAT} // 'build/abstat';

# Reports say when they were made: a fixed time makes two runs' reports
# comparable byte for byte (t/abstat-loud.t checks the clock's).
$ENV{SOURCE_DATE_EPOCH} //= 1764547200;

# Runs `abstat report --format json -q ARGS`; returns exit code, the
# decoded report (undef if stdout is not JSON) and stderr.
sub run_abstat {
    my ($rc, $out, $err) = run_abstat_raw('report', '--format', 'json', '-q',
                                          @_);
    my $json = eval { JSON::PP->new->decode($out) };
    return ($rc, $json, $err);
}

# Runs abstat with ARGS as given (stdin from $AbstatTest::STDIN if set);
# returns exit code, stdout and stderr.
our $STDIN;
sub run_abstat_raw {
    my @args = @_;
    my ($ofh, $ofile) = tempfile(UNLINK => 1);
    my ($efh, $efile) = tempfile(UNLINK => 1);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        if (defined $STDIN) {
            open STDIN, '<', $STDIN or die "$STDIN: $!";
        } else {
            open STDIN, '<', '/dev/null' or die;
        }
        open STDOUT, '>&', $ofh or die;
        open STDERR, '>&', $efh or die;
        exec $BIN, @args or die "exec $BIN: $!";
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    return ($rc, slurp($ofile), slurp($efile));
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub read_json {
    return JSON::PP->new->decode(slurp($_[0]));
}

sub is_number {
    my $flags = B::svref_2object(\$_[0])->FLAGS;
    return ($flags & (B::SVp_IOK | B::SVp_NOK)) && !($flags & B::SVp_POK);
}

# Differences between two decoded JSON values, as "path: what" lines.
# Numbers agree within 1e-9 relative (plus 1e-12 absolute for values that
# are zero in exact arithmetic); bad-line samples may carry a reason the
# reference does not model.
sub compare_json {
    my ($got, $want, $path) = @_;
    my @d;

    if (!defined $want) {
        return defined $got ? ("$path: got " . JSON::PP->new->allow_nonref
                               ->encode($got) . ", want null") : ();
    }
    if (!defined $got) {
        return ("$path: got null, want " . JSON::PP->new->allow_nonref
                ->encode($want));
    }
    if (JSON::PP::is_bool($want)) {
        return JSON::PP::is_bool($got) && !!$got == !!$want ? ()
               : ("$path: got '$got', want boolean '$want'");
    }
    if (ref $want eq 'HASH') {
        return ("$path: not an object") if ref $got ne 'HASH';
        for my $k (sort keys %$want) {
            if (!exists $got->{$k}) {
                push @d, "$path.$k: missing";
                next;
            }
            push @d, compare_json($got->{$k}, $want->{$k}, "$path.$k");
        }
        for my $k (sort keys %$got) {
            next if exists $want->{$k};
            next if $k eq 'reason' && $path =~ /bad_samples/;
            # when the report was made: the reference cannot know it
            next if $k eq 'generated' && $path eq ''
                && ($got->{$k} // '') =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\z/;
            push @d, "$path.$k: not in the reference";
        }
        return @d;
    }
    if (ref $want eq 'ARRAY') {
        return ("$path: not an array") if ref $got ne 'ARRAY';
        return ("$path: " . scalar(@$got) . " items, want " . scalar(@$want))
            if @$got != @$want;
        for my $i (0 .. $#$want) {
            push @d, compare_json($got->[$i], $want->[$i], "$path\[$i\]");
        }
        return @d;
    }
    if (is_number($want)) {
        return ("$path: got '$got', want number $want") if !is_number($got);
        my $tol = 1e-9 * abs($want) + 1e-12;
        return abs($got - $want) <= $tol ? ()
               : (sprintf "%s: got %.17g, want %.17g", $path, $got, $want);
    }
    return ref $got || $got ne $want ? ("$path: got '$got', want '$want'") : ();
}

# A log line as nginx writes it (every value a string).
sub log_line {
    my ($time, $uid, %f) = @_;
    my %rec = (time => $time, uid => $uid, status => '200',
               request_time => '0.010', %f);
    return JSON::PP->new->canonical->encode(\%rec);
}

# Lines of a log for --by: $n visitors of experiment "seg" (control,
# treat), each with an entry line (a User-Agent of one device class,
# uid_new for about 40%, a country or none) and a later line whose
# values differ (a curl User-Agent, country ZZ: never the entry), and
# purchases for some; times in order, from a fixed seed.
my %SEG_UA = (
    mobile  => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) '
               . 'Mobile/15E148 Safari/604.1',
    desktop => 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0',
    tablet  => 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Safari/604.1',
);
sub segment_log {
    my ($n, $seed) = @_;
    my @dev = sort keys %SEG_UA;
    my @country = (qw(DE DE DE FR FR US IT ES NL), undef);
    my @lines;
    srand($seed // 17);
    for my $i (0 .. $n - 1) {
        my $t = 1764000000 + $i * 7;
        my $uid = sprintf 'seg%06d', $i;
        my $var = rand() < 0.5 ? 'control' : 'treat';
        my $dev = $dev[int rand @dev];
        my $c = $country[int rand @country];
        my %entry = (exposures => "seg:$var", ua => $SEG_UA{$dev},
                     uid_new => rand() < 0.4 ? '1' : '');
        $entry{country} = $c if defined $c;
        push @lines, [$t, log_line(sprintf('%.3f', $t), $uid, %entry)];
        push @lines, [$t + 3000, log_line(sprintf('%.3f', $t + 3000), $uid,
            exposures => "seg:$var", ua => 'curl/8.5.0', country => 'ZZ')];
        if (rand() < 0.12) {
            push @lines, [$t + 60, log_line(sprintf('%.3f', $t + 60), $uid,
                events => sprintf('purchase;order=S%d;revenue=%.2f', $i,
                                  10 + rand 90))];
        }
    }
    return map { $_->[1] } sort { $a->[0] <=> $b->[0] } @lines;
}

# Parts of a JSON report by name.
sub exp_of {
    my ($r, $name) = @_;
    my ($x) = grep { $_->{name} eq $name } @{ $r->{experiments} };
    return $x;
}

sub variant_of {
    my ($x, $name) = @_;
    my ($v) = grep { $_->{name} eq $name } @{ $x->{variants} };
    return $v;
}

sub metric_of {
    my ($x, $metric, $variant) = @_;
    my ($m) = grep { $_->{metric} eq $metric && $_->{variant} eq $variant }
              @{ $x->{metrics} };
    return $m;
}

# Whether this build has segment breakdowns (`report --by`, issue 17):
# its help names the option, or it does not refuse it as a usage error.
# The segment tests skip_all, saying so, when it has not.
sub by_supported {
    my (undef, $out, $err) = run_abstat_raw('report', '--help');
    return 1 if "$out$err" =~ /--by\b/;
    my ($rc) = run_abstat_raw('report', '--format', 'json', '-q', '--by',
                              'device', '/dev/null');
    return $rc != 2;
}

# A segment of an experiment's report by dimension and value.
sub segment_of {
    my ($x, $dim, $value) = @_;
    my ($s) = grep { $_->{dimension} eq $dim && $_->{value} eq $value }
              @{ $x->{segments} // [] };
    return $s;
}

# A file of log lines in a directory removed at exit.
my ($log_dir, $log_n);
sub log_file {
    require File::Temp;
    $log_dir //= File::Temp::tempdir(CLEANUP => 1);
    my $path = "$log_dir/log" . $log_n++;
    open my $fh, '>', $path or die "$path: $!";
    print $fh "$_\n" for @_;
    close $fh or die "$path: $!";
    return $path;
}

# The JSON report of ARGS, one test that abstat exited 0.
sub report_ok {
    require Test::More;
    my ($rc, $json, $err) = run_abstat(@_);
    Test::More::is($rc, 0, "exit 0") or Test::More::diag($err);
    return $json;
}

1;

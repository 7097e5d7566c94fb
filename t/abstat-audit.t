# The assignment audit and the per-node figures (docs/abstat.md,
# "Assignment audit"): a fleet's log from scripts/gen-audit-log, with
# mismatches planted and counted there (a node on stale weights, a cache
# serving another visitor's page, a hand-edited log, a held-out visitor
# exposed), must give exactly those counts per experiment and node; the
# clean log none; a node pinned to a configuration of its own is audited
# against its own file (--nginx-conf NODE=FILE). The whole report, per-node SRM included, is checked
# against scripts/abstat-reference (scipy), and --state runs against one
# full run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use AbstatTest qw(run_abstat run_abstat_raw compare_json read_json exp_of);

my $PYTHON = $ENV{TEST_AB_PYTHON} || '/usr/bin/python3';
plan skip_all => "$PYTHON has no xxhash"
    if system($PYTHON, '-c', 'import xxhash') != 0;

my $dir = tempdir('abstat-audit-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub generate {
    my ($out, @opts) = @_;
    my @ref = `$PYTHON scripts/gen-audit-log $out @opts`;
    die "gen-audit-log failed" if $?;
    chomp @ref;
    return @ref;
}

my @ref_opts = generate("$dir/planted");
generate("$dir/clean", '--clean');
my $planted = read_json("$dir/planted/planted.json");
my $conf = "$dir/planted/nginx.conf";
my $log = "$dir/planted/ab.log";

my ($rc, $r, $err) = run_abstat('--nginx-conf', $conf, $log);
is($rc, 0, 'planted log: exit 0') or diag $err;

for my $name (sort keys %$planted) {
    my $want = $planted->{$name};
    my $a = exp_of($r, $name)->{audit};
    is($a->{checked}, $want->{checked}, "$name: exposures checked");
    is($a->{mismatches}, $want->{mismatches}, "$name: mismatches");
    is($a->{skipped_by_reason}{forced}, $want->{forced},
       "$name: forced exposures skipped");
    is($a->{skipped_by_reason}{sticky}, $want->{sticky},
       "$name: sticky exposures skipped");
    is($a->{skipped}, $want->{forced} + $want->{sticky}, "$name: skipped");
    my %by = map { $_->{node} => [$_->{checked}, $_->{mismatches}] }
             @{$a->{by_node}};
    is_deeply(\%by, $want->{by_node}, "$name: checked and mismatches by node");
    my $nex = $want->{mismatches} < 5 ? $want->{mismatches} : 5;
    is(scalar @{$a->{examples}}, $nex, "$name: $nex example(s)");
    for my $x (@{$a->{examples}}) {
        isnt($x->{logged}, $x->{expected}, "$name: example $x->{uid} differs");
        ok(exists $by{$x->{node}}, "$name: example's node $x->{node}");
    }
}

# the kinds the generator planted are all there, each found
my $kinds = $planted->{checkout}{by_kind};
cmp_ok($kinds->{$_} // 0, '>', 0, "checkout: '$_' mismatches planted")
    for qw(stale cache holdout);
cmp_ok($planted->{ranking}{by_kind}{edited} // 0, '>', 0,
       "ranking: hand-edited mismatches planted");
# node-b served the stale weights: most of checkout's mismatches are its
my %ck = map { $_->{node} => $_->{mismatches} }
         @{exp_of($r, 'checkout')->{audit}{by_node}};
cmp_ok($ck{'node-b'}, '>', $ck{'node-a'} + $ck{'node-c'},
       'checkout: node-b has most mismatches');

# the nodes: each one's visitors, share and SRM, whatever --nginx-conf
for my $e (@{$r->{experiments}}) {
    my $sum = 0;
    $sum += $_->{visitors} for @{$e->{nodes}};
    my $share = 0;
    $share += $_->{share} for @{$e->{nodes}};
    is(scalar @{$e->{nodes}}, 3, "$e->{name}: three nodes");
    cmp_ok(abs($share - 1), '<', 1e-12, "$e->{name}: shares sum to 1");
    my $vis = 0;
    $vis += $_->{visitors} for @{$e->{variants}};
    is($sum, $vis, "$e->{name}: the nodes' visitors are the variants'");
}

# the whole report against the independent one: per-node SRM p (scipy),
# the audit recomputed from the document with Python's xxhash
my $want = JSON::PP->new->decode(scalar `$PYTHON scripts/abstat-reference @ref_opts $log`);
my @diffs = compare_json($r, $want, '');
ok(!@diffs, 'the report matches scripts/abstat-reference')
    or diag join "\n", @diffs[0 .. ($#diffs < 20 ? $#diffs : 20)];

# the same lines in reverse order, split over two files given the other
# way round: the audit, examples included, and the nodes do not depend on
# the order lines are read in (a fleet's shards come in any order, issue
# 18)
{
    open my $in, '<', $log or die "$log: $!";
    my @lines = reverse <$in>;
    close $in;
    my $half = int(@lines / 2);
    for my $part ([1, 0, $half - 1], [2, $half, $#lines]) {
        open my $out, '>', "$dir/rev.$part->[0].log" or die "$!";
        print $out @lines[$part->[1] .. $part->[2]];
        close $out;
    }
    my (undef, $rr) = run_abstat('--nginx-conf', $conf, "$dir/rev.2.log",
                                 "$dir/rev.1.log");
    for my $name (sort keys %$planted) {
        for my $key (qw(audit nodes)) {
            is_deeply(exp_of($rr, $name)->{$key}, exp_of($r, $name)->{$key},
                      "$name: the $key of the lines reversed are the same");
        }
    }
}

# the clean log: nothing to find
my ($crc, $c) = run_abstat('--nginx-conf', "$dir/clean/nginx.conf",
                           '--fail-on', 'drift', "$dir/clean/ab.log");
is($crc, 0, 'clean log: --fail-on drift exits 0');
my $cplanted = read_json("$dir/clean/planted.json");
for my $name (sort keys %$cplanted) {
    my $a = exp_of($c, $name)->{audit};
    is($a->{mismatches}, 0, "clean $name: no mismatch");
    is($a->{checked}, $cplanted->{$name}{checked}, "clean $name: checked");
    is(scalar @{$a->{examples}}, 0, "clean $name: no example");
}

# a configuration per node (--nginx-conf NODE=FILE): node-b pinned to
# the old weights of checkout all day long, on purpose. Against its own
# file its assignments are no mismatch; against nginx.conf they are the
# drift of a node on a stale configuration. Counts from the generator.
{
    my $p = "$dir/pinned";
    generate($p, '--pinned', 'node-b');
    my %want = (own => read_json("$p/planted.json"),
                one => read_json("$p/planted-one.json"));
    my $by_node = sub {
        return { map { $_->{node} => [$_->{checked}, $_->{mismatches}] }
                 @{$_[0]{by_node}} };
    };
    my @runs = (
        ['each node its own file', 'own',
         map { ('--nginx-conf', "$_=$p/" . ($_ eq 'node-b' ? 'node-b' : 'nginx')
                . '.conf') } qw(node-a node-b node-c)],
        ['nginx.conf, node-b its own', 'own', '--nginx-conf', "$p/nginx.conf",
         '--nginx-conf', "node-b=$p/node-b.conf"],
        ['nginx.conf for every node', 'one', '--nginx-conf', "$p/nginx.conf"],
    );
    for my $run (@runs) {
        my ($what, $key, @opts) = @$run;
        my ($prc, $pr, $perr) = run_abstat(@opts, "$p/ab.log");
        is($prc, 0, "pinned, $what: exit 0") or diag $perr;
        is($perr // '', '', "pinned, $what: nothing on stderr");
        for my $name (qw(checkout ranking)) {
            my $a = exp_of($pr, $name)->{audit};
            my $w = $want{$key}{$name};
            is($a->{checked}, $w->{checked}, "pinned, $what: $name checked");
            is($a->{mismatches}, $w->{mismatches},
               "pinned, $what: $name mismatches");
            is_deeply($by_node->($a), $w->{by_node},
                      "pinned, $what: $name by node");
            is($a->{skipped_by_reason}{not_configured}, 0,
               "pinned, $what: $name: nothing unconfigured");
        }
    }
    cmp_ok($want{one}{checkout}{by_kind}{pinned}, '>', 100,
           'pinned: node-b differs from nginx.conf on many exposures');

    # node-c given no file and no plain FILE: its exposures are skipped
    # as not_configured, and said
    my ($prc, $pr, $perr) = run_abstat(
        '--nginx-conf', "node-a=$p/nginx.conf",
        '--nginx-conf', "node-b=$p/node-b.conf",
        '--nginx-conf', "node-x=$p/nginx.conf", "$p/ab.log");
    is($prc, 0, 'node-c without a file: exit 0');
    like($perr, qr/no configuration for 1 node\(s\), whose exposures are not audited \(skipped as not_configured\): node-c$/m,
         'node-c without a file: said on stderr');
    like($perr, qr/--nginx-conf node-x=\.\.\.: no line of node node-x/,
         'node-x, which no line names: said on stderr');
    for my $name (qw(checkout ranking)) {
        my $a = exp_of($pr, $name)->{audit};
        my $w = $want{own}{$name};
        my $c = $w->{by_node}{'node-c'};
        is($a->{skipped_by_reason}{not_configured}, $c->[0],
           "node-c without a file: its $c->[0] $name exposures unconfigured");
        is($a->{checked}, $w->{checked} - $c->[0],
           "node-c without a file: $name checked without them");
        is($a->{mismatches}, $w->{mismatches} - $c->[1],
           "node-c without a file: $name mismatches without its");
        ok(!exists $by_node->($a)->{'node-c'},
           "node-c without a file: not among ${name}'s audited nodes");
    }

    # --fail-on drift takes NODE=FILE alone
    ($prc) = run_abstat('--nginx-conf', "node-b=$p/nginx.conf",
                        '--fail-on', 'drift', "$p/ab.log");
    is($prc, 13, 'node-b against nginx.conf: --fail-on drift exits 13');

    # the forms of the option
    for my $bad (["=$p/nginx.conf", qr/NODE=FILE needs both/],
                 ['node-a=', qr/NODE=FILE needs both/]) {
        ($prc, undef, $perr) = run_abstat('--nginx-conf', $bad->[0],
                                          "$p/ab.log");
        is($prc, 2, "--nginx-conf '$bad->[0]': exit 2");
        like($perr, $bad->[1], "--nginx-conf '$bad->[0]': says why");
    }
    ($prc, undef, $perr) = run_abstat(
        '--nginx-conf', "node-a=$p/nginx.conf",
        '--nginx-conf', "node-a=$p/node-b.conf", "$p/ab.log");
    is($prc, 2, 'a node given two files: exit 2');
    like($perr, qr/node-a=.*given twice/, 'a node given two files: says so');
    ($prc, undef, $perr) = run_abstat('--nginx-conf', "$p/nginx.conf",
                                      '--nginx-conf', "$p/node-b.conf",
                                      "$p/ab.log");
    is($prc, 2, 'two plain files: exit 2');
    like($perr, qr/--nginx-conf FILE given twice/, 'two plain files: says so');
    ($prc, undef, $perr) = run_abstat('--nginx-conf', "node-a=$p/missing.conf",
                                      "$p/ab.log");
    is($prc, 2, 'a node\'s missing file: exit 2');
    like($perr, qr/missing\.conf/, 'a node\'s missing file: named');
    # a path with '=' and a '/' before it stays a path
    link "$p/nginx.conf", "$p/a=b.conf" or die "link: $!";
    ($prc, $pr) = run_abstat('--nginx-conf', "$p/a=b.conf", "$p/ab.log");
    is($prc, 0, "--nginx-conf $p/a=b.conf: a path");
    is(exp_of($pr, 'checkout')->{audit}{mismatches},
       $want{one}{checkout}{mismatches}, '... read as nginx.conf');
}

# --fail-on drift
($rc, undef, $err) = run_abstat('--nginx-conf', $conf, '--fail-on', 'drift',
                                $log);
is($rc, 13, 'planted log: --fail-on drift exits 13');
my $n = 0;
$n += $planted->{$_}{mismatches} for keys %$planted;
like($err, qr/assignment drift: $n logged exposure/, 'said on stderr');
($rc) = run_abstat('--nginx-conf', $conf, '--fail-on', 'srm,guardrail,drift',
                   $log);
is($rc, 13, 'drift wins over the other alerts');
($rc, undef, $err) = run_abstat('--fail-on', 'drift', $log);
is($rc, 2, '--fail-on drift without --nginx-conf is a usage error');
like($err, qr/needs --nginx-conf/, 'and says why');

# without --nginx-conf: the nodes, no audit
my ($nrc, $nr) = run_abstat($log);
is($nrc, 0, 'without --nginx-conf: exit 0');
ok(!exists exp_of($nr, 'checkout')->{audit}, 'no audit key');
my $visitors = sub { [map { [$_->{node}, $_->{visitors}, $_->{share}] }
                     @{$_[0]->{nodes}}] };
is_deeply($visitors->(exp_of($nr, 'checkout')),
          $visitors->(exp_of($r, 'checkout')), 'the same nodes and shares');
is(exp_of($nr, 'checkout')->{nodes}[0]{srm}{weights_source}, 'equal',
   'their SRM against an equal split');

# a log without node: read as before, no nodes, audited as "(unknown)"
my $old = "$dir/old.log";
open my $in, '<', $log or die;
open my $out, '>', $old or die;
while (<$in>) {
    s/"node":"[^"]*",//;
    print $out $_;
}
close $out;
close $in;
my ($orc, $or) = run_abstat('--nginx-conf', $conf, $old);
is($orc, 0, 'log without node: exit 0');
is($or->{input}{bad_lines}, 0, 'no line is bad');
ok(!exists exp_of($or, 'checkout')->{nodes}, 'no nodes key');
is_deeply([map { $_->{node} } @{exp_of($or, 'checkout')->{audit}{by_node}}],
          ['(unknown)'], 'audited as node (unknown)');
is(exp_of($or, 'checkout')->{audit}{mismatches},
   $planted->{checkout}{mismatches}, 'the same mismatches');

# --state: three runs give the audit and nodes of one
my @parts = map { "$dir/part$_.log" } 1 .. 3;
open $in, '<', $log or die;
my @lines = <$in>;
close $in;
my $third = int(@lines / 3);
for my $i (0 .. 2) {
    open my $fh, '>', $parts[$i] or die;
    print $fh @lines[$i * $third .. ($i == 2 ? $#lines : ($i + 1) * $third - 1)];
    close $fh;
}
my ($full_rc, $full) = run_abstat('--nginx-conf', $conf, @parts);
my $st;
for my $i (0 .. 2) {
    (my $src, $st) = run_abstat('--state', "$dir/state", '--nginx-conf',
                                $conf, @parts[0 .. $i]);
    is($src, 0, "--state run " . ($i + 1) . ": exit 0");
}
for my $name (sort keys %$planted) {
    for my $key (qw(audit nodes)) {
        is_deeply(exp_of($st, $name)->{$key}, exp_of($full, $name)->{$key},
                  "--state: $name $key as one run");
    }
}

# abstat state prune forgets the audit with the experiment: when the
# name comes back, its audit starts afresh
my ($prc) = run_abstat_raw('state', 'prune', '--state', "$dir/state",
                           '--experiment', 'checkout', '-q', '--nginx-conf',
                           $conf);
is($prc, 0, 'state prune checkout: exit 0');
my $again = "$dir/again.log";
open $in, '<', "$dir/clean/ab.log" or die;
# a day later, so that no file read before starts with these bytes
my @again = map { s/"time":"(\d+)/'"time":"' . ($1 + 86400)/er }
            (<$in>)[0 .. 199];
close $in;
open $out, '>', $again or die;
print $out @again;
close $out;
my $back = grep { /"exposures":"[^"]*\bcheckout:/ } @again;
my ($arc, $ar) = run_abstat('--state', "$dir/state", '--nginx-conf',
                            "$dir/clean/nginx.conf", $again);
is($arc, 0, 'a run after the prune: exit 0');
is(exp_of($ar, 'checkout')->{audit}{checked}, $back,
   "checkout's audit counts only the $back exposures since");
is(exp_of($ar, 'checkout')->{audit}{mismatches}, 0, 'none of them wrong');

# text and HTML say it too
my ($trc, $text) = run_abstat_raw('report', '-q', '--width', '0',
                                  '--nginx-conf', $conf, $log);
like($text, qr/Assignment audit against --nginx-conf: $planted->{checkout}{checked} exposure\(s\) checked, $planted->{checkout}{mismatches} mismatch\(es\) \(DRIFT/,
     'text: the audit line');
like($text, qr/^\s+node-b\s+\d+\s+[\d.]+%/m, 'text: the nodes table');
my ($hrc, $html) = run_abstat_raw('report', '-q', '-f', 'html',
                                  '--nginx-conf', $conf, $log);
like($html, qr/<table class="nodes">.*node-b/s, 'html: the nodes table');
like($html, qr/class="verdict warn audit"/, 'html: the audit warns');

# the page as a browser lays it out: the nodes table is there, no error
my $chromium = `sh -c 'command -v chromium || command -v chromium-browser' 2>/dev/null`;
chomp $chromium;
SKIP: {
    skip 'chromium is not installed: no browser check', 3 if !$chromium;
    my $page = "$dir/report.html";
    open my $hf, '>', $page or die;
    print $hf $html;
    close $hf;
    mkdir "$dir/profile";
    my $dom = `timeout 120 '$chromium' --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking '--host-resolver-rules=MAP * ~NOTFOUND' --user-data-dir=$dir/profile --enable-logging=stderr --v=0 --dump-dom file://$page 2>$dir/chromium.err`;
    my $log = do { local $/; open my $e, '<', "$dir/chromium.err"; <$e> } // '';
    is_deeply([grep { /CONSOLE|Uncaught|SyntaxError/ } split /\n/, $log], [],
              'browser: no console error');
    my @tables = $dom =~ /<table class="nodes">(.*?)<\/table>/gs;
    is(scalar @tables, 3, 'browser: a nodes table per experiment');
    is(scalar(() = ($tables[1] // '') =~ /<tr/g), 4,
       'browser: a header and three nodes');
}

# the configuration's assignment directives are checked as nginx does
my $bad = "$dir/bad.conf";
open my $bf, '>', $bad or die;
print $bf "http { ab_experiment x { sticky maybe; variant a 1; "
    . "variant b 1; } }\n";
close $bf;
($rc, undef, $err) = run_abstat('--nginx-conf', $bad, $log);
is($rc, 2, 'sticky maybe: exit 2');
like($err, qr/sticky takes on or off/, 'and says why');

done_testing();

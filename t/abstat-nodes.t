# The nodes of a fleet (docs/abstat.md, "Assignment audit"): a visitor
# counts at the node of their membership's entry line, the earliest
# exposure (at equal times the bytewise smaller node name), in its
# variant, and not at all once multi-variant. A fleet's files come in
# any order and grouping (issue 18): the nodes of a log whose visitors
# are seen on several nodes must not depend on the order the files and
# lines are read in, nor on how --state runs split them, and must be the
# counts computed here from the log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat log_line exp_of);

my $dir = tempdir('abstat-nodes-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @NODES = ('node-c', 'node-a', 'node-b');     # not in name order
my $NO_NODE = '(unknown)';

# A small generator of our own, seeded: the same log on every run.
my $seed = 18;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2**31; return $seed % $_[0] }

# Each visitor: an entry line on a known node, later lines on the others;
# some with a second line at the entry time on another node (the smaller
# name is the entry's), some whose entry line has no node, some who turn
# multi-variant later, and experiment "later" entered from their second
# line on, so that a visitor's memberships enter at different nodes.
my (@lines, %want);
my %expo;       # "uid exp" -> [[time, node, variant], ...]
for my $i (0 .. 399) {
    my $uid = sprintf 'v%04d', $i;
    my $t0 = 1764000000 + 37 * $i;
    my $var = rnd(2) ? 'b' : 'a';
    my $lvar = ('x', 'y', 'z')[rnd(3)];
    my $n = 2 + rnd(3);
    my @seen;
    for my $k (0 .. $n - 1) {
        my $t = sprintf '%d.%03d', $t0 + 600 * $k + rnd(300), rnd(1000);
        my $node = $NODES[rnd(3)];
        $node = $NO_NODE if $k == 0 && rnd(8) == 0;
        my @pairs = ("main:$var");
        push @pairs, "later:$lvar" if $k > 0;
        push @seen, [$t, $node, [@pairs]];
    }
    if (rnd(5) == 0) {
        # the same time on another node: a tie
        my $node = $NODES[rnd(3)];
        push @seen, [$seen[0][0], $node, ["main:$var"]];
    }
    if (rnd(10) == 0) {
        my $other = $var eq 'a' ? 'b' : 'a';
        push @seen, [sprintf('%d.500', $t0 + 600 * $n + 100), $NODES[rnd(3)],
                     ["main:$other"]];
    }
    for my $s (@seen) {
        my %f = (exposures => join(',', @{$s->[2]}));
        $f{node} = $s->[1] if $s->[1] ne $NO_NODE;
        push @lines, { node => $s->[1], time => $s->[0],
                       text => log_line($s->[0], $uid, %f) . "\n" };
        for my $p (@{$s->[2]}) {
            my ($e, $v) = split /:/, $p;
            push @{$expo{"$uid $e"}}, [$s->[0], $s->[1], $v];
        }
    }
}

# What the report must say: per experiment and node, the visitors by
# variant, from each membership's earliest (time, node) exposure.
my %count;      # exp -> node -> variant -> visitors
my %ties;
for my $key (sort keys %expo) {
    my (undef, $e) = split / /, $key;
    my @x = sort { $a->[0] <=> $b->[0] or $a->[1] cmp $b->[1] } @{$expo{$key}};
    my %vars = map { $_->[2] => 1 } @x;
    $ties{$e}++ if @x > 1 && $x[1][0] == $x[0][0] && $x[1][1] ne $x[0][1];
    next if keys %vars > 1;
    $count{$e}{$x[0][1]}{$x[0][2]}++;
}
cmp_ok($ties{main} // 0, '>', 10, 'the log has entry ties across nodes');
ok($count{main}{$NO_NODE}, 'and entries without a node');

# The nodes as the report gives them: [node, visitors, chi2 against the
# equal split] by name, with chi2 computed here from the counts.
my %variants = (main => ['a', 'b'], later => ['x', 'y', 'z']);
sub expected {
    my ($e) = @_;
    my @out;
    for my $node (sort keys %{$count{$e}}) {
        my @obs = map { $count{$e}{$node}{$_} // 0 } @{$variants{$e}};
        my $n = 0;
        $n += $_ for @obs;
        my $chi2 = 0;
        $chi2 += ($_ - $n / @obs)**2 / ($n / @obs) for @obs;
        push @out, [$node, $n, sprintf('%.9g', $chi2)];
    }
    return \@out;
}
sub nodes_of {
    my ($r, $e) = @_;
    return [map { [$_->{node}, $_->{visitors}, sprintf('%.9g', $_->{srm}{chi2})] }
            @{exp_of($r, $e)->{nodes} // []}];
}

sub write_log {
    my ($name, @l) = @_;
    my $path = "$dir/$name";
    open my $fh, '>', $path or die "$path: $!";
    print $fh map { $_->{text} } @l;
    close $fh or die;
    return $path;
}

# the fleet's files: one per node, each in time order
my @by_time = sort { $a->{time} <=> $b->{time} } @lines;
my %file;
for my $node (@NODES, $NO_NODE) {
    $file{$node} = write_log("$node.log", grep { $_->{node} eq $node } @by_time);
}
my @orders = (
    ['the files by node name', map { $file{$_} } sort keys %file],
    ['the files the other way round', map { $file{$_} } reverse sort keys %file],
    ['their lines reversed, two files',
     write_log('rev.2.log', reverse @by_time[@by_time / 2 .. $#by_time]),
     write_log('rev.1.log', reverse @by_time[0 .. @by_time / 2 - 1])],
);

for my $o (@orders) {
    my ($what, @files) = @$o;
    my ($rc, $r, $err) = run_abstat(@files);
    is($rc, 0, "$what: exit 0") or diag $err;
    for my $e (sort keys %variants) {
        is_deeply(nodes_of($r, $e), expected($e),
                  "$what: $e\'s nodes are the entry lines' counts");
        my $vis = 0;
        $vis += $_->{visitors} for @{exp_of($r, $e)->{variants}};
        my $sum = 0;
        $sum += $_->{visitors} for @{exp_of($r, $e)->{nodes}};
        is($sum, $vis, "$what: $e\'s nodes add up to its visitors");
    }
}

# --state: the node files one run at a time, in an order that puts the
# earliest lines last, give the nodes of one run
my @runs = map { $file{$_} } ('node-b', $NO_NODE, 'node-c', 'node-a');
my $st;
for my $i (0 .. $#runs) {
    (my $rc, $st, my $err) = run_abstat('--state', "$dir/state",
                                        @runs[0 .. $i]);
    is($rc, 0, '--state run ' . ($i + 1) . ': exit 0') or diag $err;
}
for my $e (sort keys %variants) {
    is_deeply(nodes_of($st, $e), expected($e), "--state: $e\'s nodes as one run");
}

done_testing();

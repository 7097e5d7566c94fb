#!/usr/bin/perl
# Issue 12: a valid gzip member followed by a corrupt one lost the lines
# gzread had inflated (699 here) although zcat recovers them; bytes after
# the last member were ignored. abstat must count every line zcat gives,
# then fail with exit 1 (abstat.1: a file not read to its end) naming the
# file and the compressed byte offset of the damage.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use AbstatTest qw(run_abstat log_line);

plan(skip_all => "$AbstatTest::BIN is not built (make)")
    unless -x $AbstatTest::BIN;
plan(skip_all => 'zcat not found') if system('zcat --version >/dev/null 2>&1');

my $dir = tempdir(CLEANUP => 1);

sub put {
    my ($name, $content) = @_;
    open my $fh, '>:raw', "$dir/$name" or die;
    print $fh $content;
    close $fh or die;
    return "$dir/$name";
}

sub member {
    my ($from, $n) = @_;
    my $text = join '', map { log_line(sprintf('%d.000', 1000 + $_),
        sprintf('u%015d', $_), exposures => 'e:' . ($_ % 2 ? 'a' : 'b'))
        . "\n" } $from .. $from + $n - 1;
    my $gz;
    gzip(\$text => \$gz, Minimal => 1) or die $GzipError;
    return $gz;
}

# Lines zcat recovers before it gives up.
sub zcat_lines {
    my ($path) = @_;
    my $out = `zcat < '$path' 2>/dev/null`;
    return () = $out =~ /\n/g;
}

my $first = member(0, 700);
my $second = member(700, 700);
# the second member's deflate data damaged past its header
my $bad = $second;
substr($bad, 20, 40) = "\xff" x 40;
my $at = length($first) + 20;

for my $case (
    ['corrupt second member', $first . $bad, qr/at compressed byte \d+/],
    ['truncated second member', $first . substr($second, 0, 200),
        qr/unexpected end of file at compressed byte \d+/],
    ['garbage after the last member', $first . "trailing garbage\n",
        qr/not gzip at compressed byte ${\ length($first)}\b/])
{
    my ($name, $bytes, $err_re) = @$case;
    my $path = put("$name.log.gz" =~ s/ /-/gr, $bytes);
    my $want = zcat_lines($path);
    cmp_ok($want, '>=', 700, "$name: zcat recovers the first member");
    for my $threads (0, 2) {
        my ($rc, $r, $err) = run_abstat('--threads', $threads, $path);
        is($rc, 1, "$name, --threads $threads: exit 1");
        is($r && $r->{input}{lines}, $want,
           "$name, --threads $threads: the $want lines zcat recovers count");
        like($err, qr/\Q$path\E/, "$name, --threads $threads: file named");
        like($err, $err_re, "$name, --threads $threads: offset named")
            or diag $err;
    }
    # the same through a pipe
    local $AbstatTest::STDIN = $path;
    my ($rc, $r, $err) = run_abstat('-');
    is($rc, 1, "$name on stdin: exit 1");
    is($r && $r->{input}{lines}, $want, "$name on stdin: $want lines");
}

# the offset is where the damage is (or a little after: inflate reads on
# until the data cannot be deflate), never before it
{
    my $path = put('offset.log.gz', $first . $bad);
    my ($rc, $r, $err) = run_abstat($path);
    my ($off) = $err =~ /at compressed byte (\d+)/;
    ok(defined $off && $off >= length($first) && $off <= length($first . $bad),
       "the offset ($off) is in the damaged member") or diag $err;
}

# two sound members are one stream
{
    my $path = put('two.log.gz', $first . member(700, 5));
    my ($rc, $r, $err) = run_abstat($path);
    is($rc, 0, 'two members: exit 0') or diag $err;
    is($r->{input}{lines}, 705, 'two members: all lines');
}

done_testing();

#!/usr/bin/perl
# The module compiles without warnings in an nginx built without
# --with-debug too, where every ngx_log_debug line vanishes: a variable
# only those lines read would be "set but not used", an error under
# nginx's -Werror. Debian's nginx (the build tree of `make module`) has
# --with-debug, so each source file is compiled here once more with
# NGX_DEBUG 0, with the flags and include paths of that tree.

use strict;
use warnings;
use File::Basename qw(dirname basename);
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
use Test::More;

my $root = abs_path(dirname(__FILE__) . '/..');
my $tree = "$root/build/nginx-dynamic";
my $make = "$tree/objs/Makefile";

plan(skip_all => "module not built: $make is missing (run make module)")
    unless -f $make;

open my $fh, '<', $make or die "$make: $!";
my $text = do { local $/; <$fh> };
close $fh;
$text =~ s/\\\n\s*/ /g;

my ($cflags) = $text =~ /^CFLAGS\s*=\s*(.*)$/m;
my ($incs) = $text =~ /^ALL_INCS\s*=\s*(.*)$/m;
ok($cflags && $cflags =~ /-Werror/, 'nginx\'s CFLAGS, with -Werror');
ok($incs, 'nginx\'s include paths');

my $tmp = tempdir(CLEANUP => 1);
for my $c (glob("$root/ngx_ab_module/*.c")) {
    my $o = "$tmp/" . basename($c, '.c') . '.o';
    my $out = `cd $tree && cc -c -fPIC $cflags -DNGX_DEBUG=0 $incs -o $o $c 2>&1`;
    is($?, 0, basename($c) . ' compiles with NGX_DEBUG 0') or diag($out);
}

done_testing();

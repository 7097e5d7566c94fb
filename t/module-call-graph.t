#!/usr/bin/perl
# No call cycle between the module's files (ngx_http_ab_module.h: one
# orchestrator, leaf services that never call back), checked by
# scripts/module-call-graph on the objects `make module` compiled; and the
# checker itself must see a cycle where there is one.

use strict;
use warnings;
use File::Basename qw(dirname basename);
use File::Temp qw(tempdir);
use Cwd qw(abs_path);
use Test::More;

my $root = abs_path(dirname(__FILE__) . '/..');
my $graph = "$root/scripts/module-call-graph";
my $objdir = "$root/build/nginx-dynamic/objs/addon/ngx_ab_module";

plan(skip_all => "module not built: $objdir is missing (run make module)")
    unless -d $objdir;

sub run {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

# the checker on two files that call each other, then on a chain
my $tmp = tempdir(CLEANUP => 1);
my %src = (
    'a.c' => "int b_f(void); int a_f(void) { return b_f(); }\n",
    'b.c' => "int c_f(void); int b_f(void) { return c_f(); }\n",
    'c.c' => "int a_f(void); int c_f(void) { return a_f(); }\n",
    'd.c' => "int c_f(void) { return 1; }\n",
);
for my $f (sort keys %src) {
    open my $fh, '>', "$tmp/$f" or die "$tmp/$f: $!";
    print $fh $src{$f};
    close $fh;
    my $o = "$tmp/" . basename($f, '.c') . '.o';
    system('cc', '-c', '-o', $o, "$tmp/$f") == 0 or die "cc $f failed";
}
my ($rc, $out) = run($graph, "$tmp/a.o", "$tmp/b.o", "$tmp/c.o");
is($rc, 1, 'a cycle of three files is an error');
like($out, qr/cycle: a -> b -> c -> a/, 'and it is named, file by file');
like($out, qr/c -> a: a_f/, 'with the function that closes it');
($rc, $out) = run($graph, "$tmp/a.o", "$tmp/b.o", "$tmp/d.o");
is($rc, 0, 'a chain is not') or diag($out);

# every source file compiled, and not older than what it includes
my $header = (stat "$root/ngx_ab_module/ngx_http_ab_module.h")[9];
my @objs;
for my $c (glob("$root/ngx_ab_module/*.c")) {
    my $o = "$objdir/" . basename($c, '.c') . '.o';
    ok(-f $o, basename($c) . ' is compiled (listed in config)') or next;
    my $mtime = (stat $o)[9];
    ok($mtime >= (stat $c)[9] && $mtime >= $header,
       basename($o) . ' is up to date (run make module)');
    push @objs, $o;
}

($rc, $out) = run($graph, @objs);
is($rc, 0, 'no call cycle between the module\'s files') or diag($out);

# the orchestrator asks, the leaves answer
for my $leaf (qw(cookie policy zone sticky events util)) {
    unlike($out, qr/^ngx_http_ab_$leaf -> ngx_http_ab_request:/m,
           "ngx_http_ab_$leaf.c never calls the orchestrator");
}
like($out,
     qr/^ngx_http_ab_request -> ngx_http_ab_cookie:.*ngx_http_ab_read_cookies/m,
     'the graph is read from the objects (request.c asks cookie.c)');

done_testing();

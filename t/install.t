#!/usr/bin/perl
# make install DESTDIR=<empty dir> lays out exactly the files of README
# "Install" (abstat, its man page and examples under PREFIX, the module
# and the log format where Debian's nginx looks), the installed examples
# name the installed abstat, and make uninstall removes every one of them
# and the directories that were only ours.
use strict;
use warnings;
use FindBin;
use Test::More;
use File::Temp qw(tempdir);
use File::Find qw(find);
use Cwd qw(abs_path);

my $repo = abs_path("$FindBin::Bin/..");
for (qw(build/abstat build/ngx_http_ab_module.so)) {
    plan skip_all => "$_ not built (make)" if !-e "$repo/$_";
}

my $dest = tempdir(CLEANUP => 1);

# Relative path => mode of every file, directories left out.
sub layout {
    my %f;
    find({ no_chdir => 1, wanted => sub {
        return if -d $_ && !-l $_;
        (my $rel = $_) =~ s{^\Q$dest\E}{};
        $f{$rel} = sprintf '%04o', (lstat $_)[2] & 07777;
    } }, $dest);
    return \%f;
}

sub make {
    my $out = `make -C '$repo' --no-print-directory @_ 2>&1`;
    return ($? >> 8, $out);
}

my @vars = ("DESTDIR=$dest", 'PREFIX=/opt/ab');
my ($rc, $out) = make('install', @vars);
is($rc, 0, 'make install DESTDIR=... PREFIX=/opt/ab') or diag($out);

my $doc = '/opt/ab/share/doc/abstat/examples';
my %want = (
    '/opt/ab/bin/abstat'                       => '0755',
    '/opt/ab/share/man/man1/abstat.1'          => '0644',
    '/usr/lib/nginx/modules/ngx_http_ab_module.so' => '0644',
    '/etc/nginx/ab/log-format.conf'            => '0644',
    map { ("$doc/$_" => '0644') } qw(abstat.cron abstat.service abstat.timer
        abstat.logrotate prometheus-alerts.yml grafana-dashboard.json),
);
is_deeply(layout(), \%want, 'the installed files, with their modes');

ok(system('cmp', '-s', "$repo/build/abstat", "$dest/opt/ab/bin/abstat") == 0,
   'bin/abstat is the built one');
my $v = `'$dest/opt/ab/bin/abstat' --version`;
like($v, qr/^abstat \d/, 'and it runs');
ok(system('cmp', '-s', "$repo/conf-examples/log-format.conf",
          "$dest/etc/nginx/ab/log-format.conf") == 0,
   'log-format.conf is the example');

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}
for my $f (qw(abstat.service abstat.cron)) {
    my $text = slurp("$dest$doc/$f");
    unlike($text, qr{/usr/local/bin/abstat}, "$f: no /usr/local/bin/abstat left");
    like($text, qr{/opt/ab/bin/abstat report}, "$f runs the installed abstat");
}

# Something of the administrator's beside log-format.conf stays, with
# its directory.
{
    open my $fh, '>', "$dest/etc/nginx/ab/local.conf" or die;
    close $fh;
}
($rc, $out) = make('uninstall', @vars);
is($rc, 0, 'make uninstall') or diag($out);
is_deeply(layout(), { '/etc/nginx/ab/local.conf' => '0644' },
          'uninstall removes every file install made, and only those');
unlink "$dest/etc/nginx/ab/local.conf";
($rc, $out) = make('uninstall', @vars);
is($rc, 0, 'make uninstall again: nothing to do is no error') or diag($out);
ok(!-e "$dest/etc/nginx/ab", '/etc/nginx/ab, empty, is removed');
ok(!-e "$dest/opt/ab/share/doc/abstat", 'so is the doc directory');
is_deeply(layout(), {}, 'nothing is left');

# The defaults are the GNU and Debian ones.
($rc, $out) = make('-n', 'install', "DESTDIR=$dest");
like($out, qr{\Q$dest\E/usr/local/bin/abstat\b}, 'PREFIX defaults to /usr/local');
like($out, qr{\Q$dest\E/usr/local/share/man/man1/abstat\.1\b},
     'man page under PREFIX/share/man');

done_testing();

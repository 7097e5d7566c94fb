#!/usr/bin/perl
# The Debian packages (make deb) in the system, as root (CI is): built
# and lint-clean, `apt-get install ./*.deb` puts the module into Debian's
# nginx the way its own libnginx-mod-* packages do; `nginx -t` passes on
# the stock /etc/nginx/nginx.conf plus a server that uses the module;
# that configuration, run by the system nginx on free 127.0.0.1 ports,
# serves exposures and a purchase; the installed abstat reports them
# (the stock nginx.conf read for the experiments, state in /var/lib/abstat);
# the logrotate snippet coexists with nginx's; then a purge leaves nothing
# of either package behind.
#
# TEST_AB_DEBS=DIR uses the .deb files there (e.g. build/deb after make
# deb) instead of building them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use ABNginx ();

my @PKGS = qw(libnginx-mod-http-ab abstat);
my $repo = $ABNginx::REPO;

plan skip_all => 'needs root: installs and purges Debian packages '
    . '(CI runs as root)' if $> != 0;
for my $tool (qw(apt-get dpkg-buildpackage lintian)) {
    plan skip_all => "$tool not installed (scripts/install-deps)"
        if system("command -v $tool >/dev/null 2>&1") != 0;
}

sub installed {
    my $s = `dpkg-query -W -f='\${Status}' '$_[0]' 2>/dev/null`;
    return $s =~ /\binstalled$/ || $s =~ /config-files$/;
}
for my $p (@PKGS) {
    # Never purge what an administrator installed.
    plan skip_all => "$p is already installed; this test installs and "
        . "purges it (apt-get purge @PKGS to run it)" if installed($p);
}

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}
sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}
sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

# Ports (the harness's allocation) and a directory for the run.
my $t = ABNginx->new(module => 0);
my $dir = $t->dir;
my ($port, $store) = ($t->port(0), $t->port(1));

# 1. The packages.
my $debs = $ENV{TEST_AB_DEBS};
if (!$debs) {
    $debs = tempdir('ab-debs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my ($rc, $out) = run("timeout 600 '$repo/scripts/build-deb' '$debs'");
    is($rc, 0, 'scripts/build-deb: built, lintian reports no error')
        or do { diag($out); done_testing(); exit 1 };
}
my %deb;
for my $p (@PKGS) {
    my @f = glob("$debs/${p}_*.deb");
    is(scalar @f, 1, "one $p .deb in $debs") or do { done_testing(); exit 1 };
    $deb{$p} = $f[0];
}
# apt reads local packages as the _apt user
chmod 0755, $debs;

my $dropin = '/etc/nginx/conf.d/zz-ab-package-test.conf';
my ($installing, $nginx_pid);
END {
    # a test that died half-way leaves the system as it found it
    kill 'QUIT', $nginx_pid if $nginx_pid;
    unlink $dropin if $dropin;
    system("timeout 300 apt-get purge -y -q @PKGS >/dev/null 2>&1")
        if $installing;
}

my %before = map { $_ => -e $_ || -l $_ } '/var/lib/abstat',
    '/etc/nginx/ab';

# 2. Install both, as a user would.
$installing = 1;
my ($rc, $out) = run('DEBIAN_FRONTEND=noninteractive timeout 300 apt-get '
    . "install -y -q --no-install-recommends $deb{abstat} "
    . $deb{'libnginx-mod-http-ab'});
is($rc, 0, 'apt-get install ./*.deb') or diag($out);
ok(installed($_), "$_ is installed") for @PKGS;

my %files;
for my $p (@PKGS) {
    $files{$p} = [split /\n/, `dpkg -L $p`];
}

# Where Debian's module packages put things (libnginx-mod-http-js).
my $enabled = '/etc/nginx/modules-enabled/50-mod-http-ab.conf';
my $avail = '/usr/share/nginx/modules-available/mod-http-ab.conf';
is(readlink($enabled), $avail, "$enabled links to $avail");
is(slurp($avail), "load_module modules/ngx_http_ab_module.so;\n",
   'mod-http-ab.conf loads the module');
ok(-f '/usr/lib/nginx/modules/ngx_http_ab_module.so',
   'the module in /usr/lib/nginx/modules');
like(`dpkg-query -W -f='\${Conffiles}' libnginx-mod-http-ab`,
     qr{^ /etc/nginx/ab/log-format\.conf [0-9a-f]{32}$}m,
     '/etc/nginx/ab/log-format.conf is a conffile');
my $abi = `dpkg-query -W -f='\${Provides}' nginx`;
my ($nginx_abi) = $abi =~ /(nginx-abi-[\w.-]+)/;
like(`dpkg-query -W -f='\${Depends}' libnginx-mod-http-ab`,
     qr/(^|, )\Q$nginx_abi\E(,|$).*libxxhash0|libxxhash0.*\Q$nginx_abi\E/,
     "the module depends on $nginx_abi (the installed nginx) and libxxhash0");
like(`dpkg-query -W -f='\${Depends}' abstat`, qr/libcjson1.*libxxhash0.*zlib1g/,
     'abstat depends on the libraries it links');
for my $f (qw(/usr/bin/abstat /usr/share/man/man1/abstat.1.gz
              /lib/systemd/system/abstat.service /lib/systemd/system/abstat.timer
              /etc/logrotate.d/abstat)) {
    ok(-f $f, "abstat: $f");
}
my $unit = slurp('/lib/systemd/system/abstat.service');
like($unit, qr/^StateDirectory=abstat$/m, 'the service has StateDirectory=abstat');
like($unit, qr{exec /usr/bin/abstat report}, 'and runs /usr/bin/abstat');

# 3. nginx -t: the stock configuration loads the module, and takes
# README's Example and a server of this test (conf.d/*.conf is included
# inside http {}).
($rc, $out) = run('/usr/sbin/nginx -t');
is($rc, 0, 'nginx -t: the stock nginx.conf with the module enabled') or diag($out);

# README's Example, as it says: a file in conf.d.
my ($example) = slurp("$repo/README.md") =~ /^## Example\n.*?^```nginx\n(.*?)^```$/ms;
ok($example && $example =~ /proxy_pass http:\/\/store;/, "README's Example read");
spew($dropin, $example // '');
($rc, $out) = run('/usr/sbin/nginx -t');
is($rc, 0, "nginx -t: the stock nginx.conf plus README's Example") or diag($out);
unlike($out, qr/\[(warn|emerg)\]/, 'without a warning');

spew($dropin, <<"EOF");
# t/package.t: a server of the A/B module in Debian's nginx
include /etc/nginx/ab/log-format.conf;

ab_experiment pkg_checkout {
    salt    t-package;
    variant control 50%;
    variant upsell  50%;
}

# the storefront
upstream pkg_store {
    server 127.0.0.1:$store;
}

server {
    listen 127.0.0.1:$port;
    access_log $dir/ab.log ab_json;
    location /product { ab pkg_checkout; return 200 "\$ab_pkg_checkout\\n"; }
    location /buy     { proxy_pass http://pkg_store; }
}

server {
    listen 127.0.0.1:$store;
    access_log off;
    location /buy {
        add_header X-AB-Event "purchase; order=\$arg_order; revenue=59.90; currency=EUR" always;
        return 200 "bought\\n";
    }
}
EOF
($rc, $out) = run('/usr/sbin/nginx -t');
is($rc, 0, 'nginx -t: the stock nginx.conf plus a server using the module')
    or diag($out);

# 4. Serve through the system nginx: the stock nginx.conf, but its pid and
# error log in the test directory and without sites-enabled/default (port
# 80 may be taken), so that a running nginx of the host is not disturbed.
my $stock = slurp('/etc/nginx/nginx.conf');
my $conf = $stock;
ok($conf =~ s{^pid\s+\S+;}{pid $dir/nginx.pid;}m
   && $conf =~ s{^error_log\s+\S+;}{error_log $dir/error.log;}m
   && $conf =~ s{^\s*include /etc/nginx/sites-enabled/\*;\n}{}m,
   'the stock nginx.conf, with pid, error_log and sites-enabled moved');
spew("$dir/nginx.conf", $conf);
($rc, $out) = run("/usr/sbin/nginx -c $dir/nginx.conf");
is($rc, 0, 'the system nginx starts on it') or diag($out);
my $deadline = time + 10;
sleep 0.05 until -s "$dir/nginx.pid" || time > $deadline;
($nginx_pid) = (-s "$dir/nginx.pid" ? slurp("$dir/nginx.pid") : '') =~ /(\d+)/;
ok($nginx_pid, 'nginx wrote its pid');

my $http = HTTP::Tiny->new(timeout => 10);
my (%variant, $orders);
for my $v (1 .. 12) {
    my $r = $http->get("http://127.0.0.1:$port/product");
    my $sc = $r->{headers}{'set-cookie'} // [];
    my ($id) = map { /^abid=([^;]+)/ ? $1 : () } ref $sc ? @$sc : $sc;
    next unless $r->{status} == 200 && $id;
    chomp(my $shown = $r->{content});
    $variant{$shown}++;
    my $b = $http->get("http://127.0.0.1:$port/buy?order=P-$v",
        { headers => { Cookie => "abid=$id" } });
    $orders++ if $b->{status} == 200 && !exists $b->{headers}{'x-ab-event'};
}
is(($variant{control} // 0) + ($variant{upsell} // 0), 12,
   '12 visitors got an id and a variant of pkg_checkout');
is($orders, 12, '12 purchases, the event header kept from the client');

kill 'QUIT', $nginx_pid if $nginx_pid;
$deadline = time + 10;
sleep 0.05 while $nginx_pid && kill(0, $nginx_pid) && time < $deadline;
ok(!($nginx_pid && kill(0, $nginx_pid)), 'nginx stopped');
undef $nginx_pid;
my $errors = -e "$dir/error.log" ? slurp("$dir/error.log") : '';
unlike($errors, qr/\[(alert|emerg|crit)\]/, 'no [alert], [crit] or [emerg]')
    or diag($errors);

# 5. The installed abstat on that log, with the experiments from the
# stock nginx.conf (and its includes) and its state where the service
# keeps it.
my $state = $before{'/var/lib/abstat'} ? "$dir/ab.state" : '/var/lib/abstat/ab.state';
mkdir '/var/lib/abstat' if !$before{'/var/lib/abstat'};
($rc, $out) = run("/usr/bin/abstat report --nginx-conf $dir/nginx.conf "
    . "--state $state --format prom $dir/ab.log");
is($rc, 0, '/usr/bin/abstat report --nginx-conf --state') or diag($out);
my %sum;
while ($out =~ /^(abstat_\w+)\{experiment="pkg_checkout",variant="(\w+)"\} (\S+)$/mg) {
    $sum{$1} += $3;
    is($3, $variant{$2}, "abstat: visitors of $2 as served")
        if $1 eq 'abstat_visitors';
}
is($sum{abstat_visitors}, 12, 'abstat: 12 visitors');
is($sum{abstat_orders}, 12, 'abstat: 12 orders');
ok(abs(($sum{abstat_revenue} // 0) - 12 * 59.90) < 1e-6, 'abstat: revenue 718.80');
ok(-s $state, "abstat kept its state in $state");

# 6. logrotate: Debian's nginx entry (/var/log/nginx/*.log) and abstat's
# (ab.log), read in the order of /etc/logrotate.d, moved to the test
# directory: no duplicate error, access.log still rotated by nginx's.
SKIP: {
    skip 'logrotate not installed', 3
        if system('command -v logrotate >/dev/null 2>&1') != 0;
    mkdir "$dir/lr";
    mkdir "$dir/lr/log";
    for my $f (qw(abstat nginx)) {
        (my $text = slurp("/etc/logrotate.d/$f")) =~ s{/var/log/nginx}{$dir/lr/log}g;
        spew("$dir/lr/$f", $text);
    }
    spew("$dir/lr/log/$_", "x\n") for qw(ab.log access.log);
    spew("$dir/lr/main.conf", "include $dir/lr/abstat\ninclude $dir/lr/nginx\n");
    ($rc, $out) = run("logrotate -d -s $dir/lr/state $dir/lr/main.conf");
    is($rc, 0, 'logrotate -d: abstat and nginx entries together') or diag($out);
    unlike($out, qr/^error:/m, 'logrotate: no error') or diag($out);
    like($out, qr{considering log \Q$dir\E/lr/log/access\.log},
         "nginx's entry still rotates access.log") or diag($out);
}

# 7. Purge: nothing of either package is left.
unlink $dropin;
($rc, $out) = run('DEBIAN_FRONTEND=noninteractive timeout 300 apt-get '
    . "purge -y -q @PKGS");
is($rc, 0, 'apt-get purge') or diag($out);
$installing = 0;
ok(!installed($_), "$_ is purged") for @PKGS;
my @left;
for my $p (@PKGS) {
    for my $f (@{$files{$p}}) {
        next if $f eq '/.';
        # directories are shared, unless only these packages made them
        next if -d $f && $f !~ m{/(abstat|libnginx-mod-http-ab)(/|$)|^/etc/nginx/ab$};
        push @left, $f if -e $f || -l $f;
    }
}
push @left, grep { -e $_ || -l $_ } $enabled, "$enabled.removed";
push @left, grep { !$before{$_} && (-e $_ || -l $_) }
    '/var/lib/abstat', '/etc/nginx/ab';
is_deeply(\@left, [], 'nothing of theirs is left') or diag("@left");
is(slurp('/etc/nginx/nginx.conf'), $stock, 'nginx.conf untouched');
($rc, $out) = run('/usr/sbin/nginx -t');
is($rc, 0, 'nginx -t: the stock configuration without the module') or diag($out);

done_testing();

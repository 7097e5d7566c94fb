# conf-examples/abstat.{cron,service,timer,logrotate} work together: the
# cron command and the service's ExecStart= commands are run for real
# (paths moved into a temporary directory) across a rotation done as
# abstat.logrotate says, and the Prometheus file they leave equals a full
# run over every line. The unit files pass `systemd-analyze verify`.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(move);
use Cwd qw(abs_path);
use AbstatTest qw(run_abstat_raw);

my $ex = 'conf-examples';
my $bin = abs_path('build/abstat');
my $conf = abs_path('t/data/abstat/nginx/nginx.conf');

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

# The commands of each file.
my $cron = slurp("$ex/abstat.cron");
my @cron = grep { /^\s*[\d*]/ } split /\n/, $cron;
is(scalar @cron, 1, 'abstat.cron: one job');
my @f = split ' ', $cron[0], 7;
like("@f[0..4]", qr/^[\d*,\/-]+( [\d*,\/-]+){4}$/, 'five time fields');
is($f[5], 'www-data', 'then the user (/etc/cron.d format)');
like($cron, qr/^MAILTO=/m, 'MAILTO for the alerts');
my $cron_cmd = $f[6];

my $service = slurp("$ex/abstat.service");
my @exec = map { /^ExecStart=\/bin\/sh -c '(.*)'$/ ? $1 : () }
           split /\n/, $service;
is(scalar @exec, 2, 'abstat.service: two commands (html, then prom)');
like(slurp("$ex/abstat.timer"), qr/^OnCalendar=hourly$/m,
     'abstat.timer: hourly');
my $lr = slurp("$ex/abstat.logrotate");
like($lr, qr/^\s+delaycompress$/m, 'logrotate: delaycompress (see why there)');
unlike($lr, qr/^\s+copytruncate$/m, 'logrotate: rename mode');

# Every option the examples give is one abstat knows.
my (undef, $help) = run_abstat_raw('--help');
for my $cmd ($cron_cmd, @exec) {
    for my $opt ($cmd =~ /\s(--[a-z-]+)/g) {
        like($help, qr/\Q$opt\E\b/, "option $opt exists");
    }
}

SKIP: {
    my $sa = `sh -c 'command -v systemd-analyze' 2>/dev/null`;
    chomp $sa;
    skip 'systemd-analyze not installed', 1 if !$sa;
    my $out = `cd $ex && timeout 60 '$sa' verify --man=no ./abstat.service ./abstat.timer 2>&1`;
    is($?, 0, 'systemd-analyze verify: no complaint') or diag($out);
}

# Run them. Paths of the examples, moved under $root.
my $root = tempdir(CLEANUP => 1);
mkdir "$root/$_" for qw(log state www prom);
sub localize {
    my ($cmd) = @_;
    $cmd =~ s{/var/log/nginx}{$root/log}g;
    $cmd =~ s{/var/lib/abstat}{$root/state}g;
    $cmd =~ s{/var/www/abstat}{$root/www}g;
    $cmd =~ s{/var/lib/node_exporter/textfile_collector}{$root/prom}g;
    $cmd =~ s{/etc/nginx/nginx\.conf}{$conf}g;
    $cmd =~ s{/usr/local/bin/abstat}{$bin}g;
    $cmd =~ s{(^|; |&& )abstat }{$1$bin }g;
    return $cmd;
}

my $log = "$root/log/ab.log";
my $t = 1763900000;
my $all = '';
sub write_log {
    my ($path, $n) = @_;
    open my $fh, '>>', $path or die;
    for (1 .. $n) {
        $t += 7;
        my $i = int rand 300;
        my $v = $i % 2 ? 'control' : 'upsell';
        my $l = qq({"time":"$t.000","uid":"u$i","exposures":"checkout_cta:$v","status":"200","request_time":"0.02"}\n);
        $l .= qq({"time":"$t.500","uid":"u$i","events":"purchase;order=O$t;revenue=20"}\n)
            if rand() < 0.1;
        print $fh $l;
        $all .= $l;
    }
    close $fh;
}
srand(7);

my @runs = (['cron', localize($cron_cmd)], map { ["service $_", localize($exec[$_])] } 0, 1);
for my $round (1 .. 3) {
    write_log($log, 200);
    for my $r (@runs) {
        my $out = `$r->[1] 2>&1`;
        is($? >> 8, 0, "round $round: $r->[0] exits 0") or diag($out);
    }
    # logrotate: rename, nginx keeps writing the old file until USR1,
    # then a new one; a day later the .1 is compressed (delaycompress).
    if (-e "$log.1") {
        `gzip -c '$log.1' > '$log.2.gz'`;
        unlink "$log.1";
    }
    move($log, "$log.1") or die;
    write_log("$log.1", 20);
    write_log($log, 30);
}
for my $r (@runs) {
    my $out = `$r->[1] 2>&1`;
    is($? >> 8, 0, "last: $r->[0] exits 0") or diag($out);
}

ok(-s "$root/www/index.html", 'the HTML report is written');
open my $fh, '>', "$root/all.log" or die;
print $fh $all;
close $fh;
# --sequential: the cron job's --state makes it the default there
my ($rc, $want) = run_abstat_raw('report', '-q', '--nginx-conf', $conf,
                                 '--sequential', '--format', 'prom',
                                 "$root/all.log");
my $got = slurp("$root/prom/abstat.prom");
is($got, $want,
   'the textfile collector file equals a full run over every line');

done_testing();

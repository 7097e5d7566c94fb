package ABNginx;

# Test harness for the A/B module, in the style of nginx-tests: each test
# generates an nginx.conf into a temporary directory, starts Debian's nginx
# on free 127.0.0.1 ports with the freshly built module, talks HTTP to it
# (HTTP::Tiny; a raw client of its own for the bytes and the pipelining
# HTTP::Tiny does not do) and reads its JSON access log. Core Perl and
# HTTP::CookieJar (Debian's libhttp-cookiejar-perl, scripts/install-deps).
#
#   use lib 't/lib';
#   use ABNginx qw(http_request);
#   my $t = ABNginx->new->require_module;
#   $t->write_config(<<'EOF')->start;
#   ab_experiment e { variant a 50%; variant b 50%; }
#   server { listen 127.0.0.1:%%PORT%%; location / { ab e; return 200 "$ab_e"; } }
#   EOF
#   my $r = $t->get('/', 'Cookie: abid=0123456789abcdef');
#   is($r->{status}, 200);
#   ABNginx::finish();   # stops nginx, fails on [alert]/[emerg], done_testing
#
# Placeholders in configuration text: %%PORT%% (= %%PORT_0%%), %%PORT_1%%
# ... (distinct free ports; every one must be listened on), %%DIR%% (the
# test directory), %%REPO%%.
#
# Main calls:
#   ABNginx->new(module => 0|1)   a test directory (module: load_module)
#   ->require_module, ->require_reference   skip_all when missing
#   ->expect_emerg                no [alert]/[emerg] check for this one
#   ->write_config($http, %o)     nginx.conf around an http{} body
#   ->test_config                 nginx -t: (output, exit status)
#   ->start, ->stop, ->reload($http)   reload waits for the new workers
#   ->get($uri, @headers)         one request (HTTP::Tiny, keep-alive;
#                                 "POST /x" for methods)
#   ->post($uri, $body, @headers)  one POST with a body
#   ->get_all(\@requests, port => P, conn => NAME)   [$uri, @headers] each,
#                                 one after another on one connection
#   ->visitor(port => P)          an HTTP::Tiny with a cookie jar: a browser
#   raw client, for what a test sends byte by byte or pipelines:
#   ->pipeline(\@raw, port => P, conn => NAME)   many requests, pipelined
#   ->raw($bytes, from => ADDR)   one request on a fresh connection
#   http_request($uri, @headers)  raw request text ("POST /x" for methods)
#   nginx_str($s)                 a value as an nginx double-quoted string
#   responses: {status, headers => [[n, v]], h => {lc name => [v]}, body, raw}
#   header_values($r, $name), set_cookies($r, $cookie), parse_set_cookie
#   ->mark_log, ->new_log_lines($n), ->log_json(new => 1, count => $n)
#   read_vectors, reference_assign (scripts/gen-vectors), chi2_sf, chi2_test
#
# Environment: TEST_NGINX_BINARY (default /usr/sbin/nginx), TEST_AB_MODULE
# (default <repo>/build/ngx_http_ab_module.so), TEST_NGINX_LEAVE=1 keeps
# the test directory, TEST_AB_PYTHON (default /usr/bin/python3).
#
# Memory checking (docs/reliability.md):
#   TEST_AB_STATIC_NGINX=/path/to/nginx   an nginx with the module compiled
#       in (scripts/build-static), e.g. with AddressSanitizer: used instead
#       of TEST_NGINX_BINARY, and no load_module is written. Sanitizer
#       reports go to <test dir>/asan.PID (ASAN_OPTIONS and UBSAN_OPTIONS
#       get log_path, and detect_leaks=0 for ASan unless set: nginx does
#       not free its pools at exit); any report fails the test.
#   TEST_NGINX_VALGRIND=1   nginx (master and workers, and nginx -t) runs
#       under valgrind memcheck with t/valgrind.supp; any error in
#       <test dir>/valgrind.PID.log, or a definite leak, fails the test.
#       Timeouts are multiplied by TEST_NGINX_SLOW (default 10 with
#       valgrind).

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Errno qw(EINTR EAGAIN);
use HTTP::CookieJar;
use HTTP::Tiny;
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use JSON::PP ();
use POSIX qw(WNOHANG);
use Socket qw(SOL_SOCKET SO_REUSEADDR IPPROTO_TCP TCP_NODELAY);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(chi2_sf chi2_test http_request parse_set_cookie
    set_cookies header_values nginx_str
    reference_assign sticky_reference read_vectors $LOG_FORMAT);

our $REPO = abs_path(dirname(__FILE__) . '/../..');
our $STATIC = $ENV{TEST_AB_STATIC_NGINX};
our $NGINX = $STATIC || $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $MODULE = $ENV{TEST_AB_MODULE} || "$REPO/build/ngx_http_ab_module.so";
our $VALGRIND = $ENV{TEST_NGINX_VALGRIND};
our $SLOW = $ENV{TEST_NGINX_SLOW} || ($VALGRIND ? 10 : 1);
our $PYTHON = $ENV{TEST_AB_PYTHON} || '/usr/bin/python3';

# The exposure log format of docs/log-format.md (the fields the tests read).
our $LOG_FORMAT = q!log_format ab_json escape=json '{"time":"$msec",!
    . q!"uid":"$ab_uid","uid_new":"$ab_uid_new","exposures":"$ab_exposures",!
    . q!"status":"$status","request_time":"$request_time",!
    . q!"method":"$request_method","uri":"$request_uri",!
    . q!"ua":"$http_user_agent"}';!;

our @LOG_KEYS = qw(time uid uid_new exposures status request_time method
    uri ua);

my @instances;      # every ABNginx object with a running nginx
my %reserved_ports;


sub new {
    my ($class, %opts) = @_;

    my $dir = tempdir('ab-nginx-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{TEST_NGINX_LEAVE});
    $dir = abs_path($dir);
    diag("test directory: $dir") if $ENV{TEST_NGINX_LEAVE};

    my $self = bless {
        dir     => $dir,
        module  => exists $opts{module} ? $opts{module} : 1,
        ports   => [],
        pid     => undef,
        conn    => undef,
        offsets => {},
        expect_emerg => 0,
    }, $class;

    push @instances, $self;
    return $self;
}

sub dir { $_[0]{dir} }
sub module_path { $MODULE }
sub module_built { $STATIC ? -x $STATIC : -f $MODULE }

# Skips the whole test file when the module has not been built yet.
sub require_module {
    my ($self) = @_;
    plan(skip_all => "module not built: $MODULE is missing (run make module)")
        unless module_built();
    return $self;
}

# Skips the whole test file when the reference implementation (Debian's
# python3 with python3-xxhash) is not installed.
sub require_reference {
    my ($self) = @_;
    my $ok = system("$PYTHON -c 'import xxhash' >/dev/null 2>&1") == 0;
    plan(skip_all => "$PYTHON with xxhash is missing (scripts/install-deps)")
        unless $ok;
    return $self;
}

# Tests that make nginx fail on purpose call this: no [emerg] check then.
sub expect_emerg { $_[0]{expect_emerg} = 1; $_[0] }


############################################################################
# ports and configuration

sub _free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 0)
            or croak "cannot bind 127.0.0.1: $!";
        my $port = $s->sockport;
        close $s;
        next if $reserved_ports{$port}++;
        return $port;
    }
    croak 'no free port found';
}

sub port {
    my ($self, $n) = @_;
    $n ||= 0;
    $self->{ports}[$_] //= _free_port() for 0 .. $n;
    return $self->{ports}[$n];
}

sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%PORT%%/$self->port(0)/ge;
    $text =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $text =~ s/%%DIR%%/$self->{dir}/g;
    $text =~ s/%%REPO%%/$REPO/g;
    return $text;
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '>', $path or croak "$path: $!";
    binmode $fh;
    print $fh $content;
    close $fh or croak "$path: $!";
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    my $c = <$fh>;
    close $fh;
    return $c // '';
}

# A value as an nginx double-quoted string: " and \ escaped. ($ must not
# appear: nginx has no escape for it in a string.)
sub nginx_str {
    my ($s) = @_;
    croak "\$ in nginx string: $s" if $s =~ /\$/;
    $s =~ s/([\\"])/\\$1/g;
    return qq{"$s"};
}

sub conf_path { "$_[0]{dir}/nginx.conf" }

# The complete nginx.conf for an http{} body. Options:
#   module => 0/1       load the module (default: as given to new)
#   access_log => 1     define ab_json and log to access.log (default: module)
#                0      nothing: the http text sets its own access_log
#                'off'  access_log off
#   workers => N        worker_processes (default 1)
#   main => TEXT        extra main-context text
#   raw => 1            the text is the whole file (placeholders expanded)
sub config_text {
    my ($self, $http, %o) = @_;

    return $self->expand($http) if $o{raw};

    my $dir = $self->{dir};
    my $module = exists $o{module} ? $o{module} : $self->{module};
    my $log = exists $o{access_log} ? $o{access_log} : $module;
    my $workers = $o{workers} || 1;

    my $c = '';
    $c .= "load_module $MODULE;\n" if $module && !$STATIC;
    $c .= "user root;\n" if $> == 0;
    $c .= <<"EOF";
daemon off;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log info;
EOF
    $c .= $o{main} . "\n" if defined $o{main};
    $c .= <<"EOF";
events {
    worker_connections 256;
}

http {
    client_body_temp_path $dir/client_body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;

    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type text/plain;
EOF
    if (defined $log && $log eq 'off') {
        $c .= "\n    access_log off;\n";
    } elsif ($log) {
        $c .= "\n    $LOG_FORMAT\n    access_log $dir/access.log ab_json;\n";
    }
    $c .= "\n" . $self->expand($http) . "\n}\n";
    return $c;
}

sub write_config {
    my ($self, $http, %o) = @_;
    $self->{config_args} = [$http, %o];
    $self->write_file('nginx.conf', $self->config_text($http, %o));
    return $self;
}


############################################################################
# nginx processes

sub _run_capture {
    my (@cmd) = @_;
    my $pid = open3(my $in, my $out, undef, @cmd);
    close $in;
    local $/;
    my $output = <$out> // '';
    waitpid($pid, 0);
    return ($output, $? >> 8, $?);
}

# Runs nginx -t on the current nginx.conf (or FILE). Returns (output,
# exit status) in list context, the output in scalar context.
sub test_config {
    my ($self, $file) = @_;
    $file //= $self->conf_path;
    my ($out, $rc) = _run_capture($self->_command, '-t', '-p',
        "$self->{dir}/", '-e', "$self->{dir}/error-t.log", '-c', $file);
    my $log = $self->read_file('error-t.log') // '';
    unlink "$self->{dir}/error-t.log";
    # nginx writes the messages to both stderr and the -e log; keep one
    # copy of each line
    my %seen;
    my $all = join '', grep { !$seen{$_}++ } split /^/m, $out . $log;
    return wantarray ? ($all, $rc) : $all;
}

# Starts nginx and returns once its workers run and every port answers.
# When a port was taken by someone else in the meantime, new ports are
# picked and the configuration written again (up to 3 times).
sub start {
    my ($self) = @_;
    croak 'nginx already running' if $self->{pid};

    ATTEMPT: for my $attempt (1 .. 3) {
        my $offset = -s "$self->{dir}/error.log" || 0;
        my $pid = $self->_spawn;
        my $deadline = time + 10 * $SLOW;
        # workers exist once every listening socket is bound
        until ($self->worker_pids) {
            if (waitpid($pid, WNOHANG) == $pid) {
                my $st = $?;
                $self->{pid} = undef;
                my $log = substr($self->read_file('error.log') // '', $offset);
                if ($log =~ /Address already in use/ && $attempt < 3
                    && $self->{config_args})
                {
                    # keep the failed attempt's log apart from the checked one
                    rename "$self->{dir}/error.log",
                        "$self->{dir}/error.log.bind-failed-$attempt";
                    $self->{ports} = [];
                    $self->write_config(@{$self->{config_args}});
                    next ATTEMPT;
                }
                croak "nginx exited at start (status $st):\n"
                    . $self->tail('error.log') . $self->tail('stderr.log');
            }
            croak "nginx started no worker:\n" . $self->tail('error.log')
                if time > $deadline;
            sleep 0.02;
        }
        for my $port ($self->_listened_ports) {
            until (IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                PeerPort => $port, Proto => 'tcp'))
            {
                croak "nginx does not answer on port $port:\n"
                    . $self->tail('error.log') if time > $deadline;
                sleep 0.02;
            }
        }
        return $self;
    }
    croak 'nginx did not start';
}

# The ports nginx.conf listens on (listen 127.0.0.1:PORT).
sub _listened_ports {
    my ($self) = @_;
    my %p = map { $_ => 1 }
        ($self->read_file('nginx.conf') // '') =~ /\blisten\s+127\.0\.0\.1:(\d+)/g;
    return sort { $a <=> $b } keys %p;
}

sub _spawn {
    my ($self) = @_;
    my $dir = $self->{dir};
    open my $stderr, '>>', "$dir/stderr.log" or croak "$dir/stderr.log: $!";
    my $pid = fork() // croak "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>&', $stderr;
        open STDERR, '>&', $stderr;
        exec($self->_command, '-p', "$dir/", '-e', "$dir/error.log",
            '-c', $self->conf_path) or POSIX::_exit(127);
    }
    close $stderr;
    return $self->{pid} = $pid;
}

# The nginx command line: the binary, under valgrind when asked; the
# sanitizers' reports into the test directory.
sub _command {
    my ($self) = @_;
    my $dir = $self->{dir};
    if ($STATIC) {
        for my $v (qw(ASAN_OPTIONS UBSAN_OPTIONS)) {
            my $o = $ENV{$v} // '';
            $o .= ':detect_leaks=0' if $v eq 'ASAN_OPTIONS'
                && $o !~ /detect_leaks/;
            $ENV{$v} = "$o:log_path=$dir/asan";
        }
    }
    return ($NGINX) unless $VALGRIND;
    return ('valgrind', '--tool=memcheck', '--error-exitcode=99',
        '--leak-check=full', '--show-leak-kinds=definite',
        '--errors-for-leak-kinds=definite', '--track-fds=no',
        '--num-callers=30', "--suppressions=$REPO/t/valgrind.supp",
        "--log-file=$dir/valgrind.%p.log", $NGINX);
}

# Problems found by valgrind or a sanitizer in this test directory: the
# summary lines of every report.
sub memory_errors {
    my ($self) = @_;
    my @bad;
    for my $f (sort glob("$self->{dir}/valgrind.*.log")) {
        my $c = $self->read_file($f) // next;
        my ($n) = $c =~ /ERROR SUMMARY: (\d+) errors/;
        next if defined $n && $n == 0;
        # a process still running (no summary yet) is not judged
        next unless defined $n;
        my @what = grep { /^==\d+==\s+(at|by) |^==\d+== \S/ } split /\n/, $c;
        @what = grep { !/^==\d+== (Memcheck|Copyright|Using|Command|Parent|HEAP|LEAK|ERROR SUMMARY|For lists|Rerun|Reachable|To see|   (definitely|indirectly|possibly|still|suppressed|in use|total))/ } @what;
        push @bad, "$f: $n errors\n" . join("\n", @what[0 .. ($#what < 40 ? $#what : 40)]);
    }
    # gcc's UBSan ignores log_path: its reports are on nginx's stderr
    my $stderr = $self->read_file('stderr.log') // '';
    my @se = grep { /runtime error:|ERROR: (Address|Leak)Sanitizer|SUMMARY: \w+Sanitizer/ } split /\n/, $stderr;
    push @bad, "stderr.log:\n" . join("\n", @se[0 .. ($#se < 40 ? $#se : 40)])
        if @se;
    # a worker that died (a sanitizer exits with 1) is a failure here
    my @ex = grep { /exited with code [1-9]|exited on signal/ }
        split /\n/, $self->read_file('error.log') // '';
    push @bad, "error.log:\n" . join("\n", @ex[0 .. ($#ex < 10 ? $#ex : 10)])
        if @ex;
    for my $f (sort glob("$self->{dir}/asan.*")) {
        my $c = $self->read_file($f) // next;
        my @what = grep { /ERROR|SUMMARY|runtime error|^\s+#\d+ / } split /\n/, $c;
        push @bad, "$f:\n" . join("\n", @what[0 .. ($#what < 40 ? $#what : 40)]);
    }
    return @bad;
}

sub tail {
    my ($self, $name, $n) = @_;
    my $c = $self->read_file($name) // return '';
    my @l = split /^/m, $c;
    splice @l, 0, @l - ($n || 20) if @l > ($n || 20);
    return join '', map { "  $name: $_" } @l;
}

sub _children {
    my ($ppid) = @_;
    my @kids;
    opendir my $d, '/proc' or return;
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // next;
        close $fh;
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        my ($state, $pp) = $stat =~ /\)\s+(\S)\s+(\d+)/ or next;
        next if $state eq 'Z' || $state eq 'X';
        push @kids, $p + 0 if $pp == $ppid;
    }
    return @kids;
}

sub worker_pids {
    my ($self) = @_;
    return () unless $self->{pid};
    return _children($self->{pid});
}

# Waits until none of @$old is a child of the master any more and at
# least one other worker runs.
sub _wait_workers {
    my ($self, $old, $timeout) = @_;
    my %old = map { $_ => 1 } @$old;
    my $deadline = time + ($timeout || 10);
    while (time < $deadline) {
        my @now = $self->worker_pids;
        my @stale = grep { $old{$_} } @now;
        my @new = grep { !$old{$_} } @now;
        return 1 if !@stale && @new;
        sleep 0.02;
    }
    return 0;
}

# Writes the new configuration (when given) and reloads: returns true once
# the old workers are gone and new ones run, false when that does not
# happen (e.g. the new configuration is invalid).
sub reload {
    my ($self, $http, %o) = @_;
    croak 'nginx not running' unless $self->{pid};
    $self->write_config($http, %o) if defined $http;
    $self->close_connection;
    my @old = $self->worker_pids;
    kill 'HUP', $self->{pid};
    my $ok = $self->_wait_workers(\@old, ($o{timeout} || 10) * $SLOW);
    # every port answers (a new configuration may listen on new ones)
    my $deadline = time + 5 * $SLOW;
    for my $port ($ok ? $self->_listened_ports : ()) {
        until (IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $port, Proto => 'tcp'))
        {
            if (time > $deadline) { $ok = 0; last }
            sleep 0.02;
        }
    }
    return $ok;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return $self;
    $self->close_connection;
    kill 'QUIT', $pid;
    my $deadline = time + 10 * $SLOW;
    while (waitpid($pid, WNOHANG) != $pid) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            last;
        }
        sleep 0.02;
    }
    $self->{exit_status} = $?;
    $self->{pid} = undef;
    return $self;
}

# Lines of error.log at [alert] or [emerg] level.
sub bad_error_lines {
    my ($self) = @_;
    my $c = $self->read_file('error.log') // '';
    return grep { /\[(alert|emerg)\]/ } split /\n/, $c;
}

sub error_log { $_[0]->read_file('error.log') // '' }

# Stops nginx and checks its error log (one test), unless expect_emerg.
sub stop_and_check {
    my ($self) = @_;
    return if $self->{checked}++;
    $self->stop;
    if ($VALGRIND || $STATIC) {
        my @mem = $self->memory_errors;
        ok(!@mem, ($VALGRIND ? 'valgrind' : 'sanitizers')
            . ": no memory error in $self->{dir}") or diag(join "\n", @mem);
    }
    return if $self->{expect_emerg};
    return unless -e "$self->{dir}/error.log";
    my @bad = $self->bad_error_lines;
    ok(!@bad, "no [alert] or [emerg] in error.log of $self->{dir}")
        or diag(join "\n", @bad);
}

# Ends a test file: stops every instance, checks the error logs and calls
# done_testing.
sub finish {
    $_->stop_and_check for @instances;
    done_testing();
}

END {
    for my $t (@instances) {
        next unless $t->{pid};
        kill 'TERM', $t->{pid};
        waitpid($t->{pid}, 0);
    }
}


############################################################################
# HTTP client: HTTP::Tiny

# One HTTP::Tiny per port and connection name, so that requests with
# different names use different keep-alive connections. It sends no
# User-Agent of its own (a test sends the one it means: exclusion maps
# read it) and keeps no cookies (a test says which Cookie header a
# visitor sends; visitor() is the browser that keeps them).
sub _client {
    my ($self, $port, $conn) = @_;
    return $self->{clients}{$port . '/' . ($conn // '')} ||= _tiny();
}

sub _tiny {
    my (%o) = @_;
    return HTTP::Tiny->new(agent => '', keep_alive => 1, max_redirect => 0,
        timeout => 10 * $SLOW, %o);
}

# Headers given as 'Name: value' or [name, value], in order, as
# HTTP::Tiny takes them: { name => [values] }.
sub _header_hash {
    my (@headers) = @_;
    my %h;
    for my $x (@headers) {
        my ($n, $v) = ref $x ? @$x : $x =~ /^([^:]+):\s*(.*)$/s
            or croak "not a header: $x";
        push @{$h{$n}}, $v;
    }
    return \%h;
}

# Closes every connection of both clients (the next request opens anew).
sub close_connection {
    my ($self) = @_;
    for my $c (values %{$self->{conns} || {}}) { close $c->{sock} }
    $self->{conns} = {};
    $self->{clients} = {};
}

# HTTP::Tiny's response in the harness's shape (see the top of the file).
# Headers are in name order (HTTP::Tiny keeps the order of repeated ones
# only); raw is the response as text, for checks that a value appears
# nowhere in it.
sub _response {
    my ($res, $port) = @_;
    croak "request to port $port failed: $res->{content}"
        if $res->{status} == 599;
    my (@headers, %h);
    for my $n (sort keys %{$res->{headers}}) {
        my $v = $res->{headers}{$n};
        for my $x (ref $v ? @$v : $v) {
            push @headers, [$n, $x];
            push @{$h{$n}}, $x;
        }
    }
    my $body = $res->{content} // '';
    my $raw = "$res->{protocol} $res->{status} $res->{reason}\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @headers) . "\r\n$body";
    return { status => $res->{status}, reason => $res->{reason},
        proto => $res->{protocol}, headers => \@headers, h => \%h,
        body => $body, raw => $raw };
}

# A request through $http: "POST /x" as $uri overrides $method.
sub _tiny_request {
    my ($http, $port, $method, $uri, $headers, $body) = @_;
    ($method, $uri) = ($1, $2) if $uri =~ /^([A-Z]+) (.*)$/s;
    my $res = $http->request($method, "http://127.0.0.1:$port$uri",
        { headers => _header_hash(@$headers),
          defined $body ? (content => $body) : () });
    return _response($res, $port);
}

sub _request {
    my ($self, $method, $uri, $headers, %o) = @_;
    my $port = $o{port} // $self->port(0);
    return _tiny_request($self->_client($port, $o{conn}), $port, $method,
        $uri, $headers, $o{body});
}

# One request: get('/x', 'Cookie: a=b'), get('POST /x', @headers).
sub get {
    my ($self, $uri, @headers) = @_;
    return $self->_request('GET', $uri, \@headers);
}

# A POST of $body: post('/x', 'a=b', 'Content-Type: text/plain').
sub post {
    my ($self, $uri, $body, @headers) = @_;
    return $self->_request('POST', $uri, \@headers, body => $body);
}

# Requests one after another on one keep-alive connection: each
# [$uri, @headers]; returns the responses in order. Options: port, conn.
sub get_all {
    my ($self, $reqs, %o) = @_;
    return [map { my ($uri, @h) = @$_; $self->_request('GET', $uri, \@h, %o) }
        @$reqs];
}

# A browser: an HTTP::Tiny that keeps the cookies it is set
# (HTTP::CookieJar) and sends them back. get($uri, @headers) as above,
# jar (the HTTP::CookieJar), cookie($name) (its value or undef).
sub visitor {
    my ($self, %o) = @_;
    return ABNginx::Visitor->new($o{port} // $self->port(0));
}


############################################################################
# HTTP client: raw, for what HTTP::Tiny does not do (bytes it refuses to
# send, malformed requests, pipelining, a connection closed half-way)

# A raw request: http_request('/path', 'Cookie: a=b', ...) or with pairs
# in an array ref. Adds Host unless given; HTTP/1.1 keep-alive.
sub http_request {
    my ($uri, @headers) = @_;
    my $method = 'GET';
    ($method, $uri) = ($1, $2) if $uri =~ /^([A-Z]+) (.*)$/s;
    my @lines = map { ref $_ ? "$_->[0]: $_->[1]" : $_ } @headers;
    unshift @lines, 'Host: localhost' unless grep { /^host:/i } @lines;
    return join '', "$method $uri HTTP/1.1\r\n", map({ "$_\r\n" } @lines),
        "\r\n";
}

sub _connect {
    my ($self, $port, $from) = @_;
    $port //= $self->port(0);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        $from ? (LocalAddr => $from) : (),
        Proto => 'tcp', Timeout => 5 * $SLOW) or croak "connect to $port: $!";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;
    return $s;
}



# Parses one response from the start of $$buf; returns the response and
# removes it, or undef when incomplete. $eof: the peer closed.
sub _parse_response {
    my ($buf, $head_only, $eof) = @_;
    my $end = index($$buf, "\r\n\r\n");
    return undef if $end < 0;
    my $head = substr($$buf, 0, $end);
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($proto, $status, $reason) = $status_line =~ m{^(HTTP/\d\.\d) (\d{3})(?: (.*))?$}
        or croak "bad status line: $status_line";
    my (@headers, %h);
    for my $l (@lines) {
        my ($n, $v) = $l =~ /^([^:]+):\s*(.*?)\s*$/ or next;
        push @headers, [$n, $v];
        push @{$h{lc $n}}, $v;
    }
    my $pos = $end + 4;
    my $body = '';
    if ($head_only || $status =~ /^(1|204|304)/) {
    } elsif (($h{'transfer-encoding'}[0] // '') =~ /chunked/i) {
        while (1) {
            my $nl = index($$buf, "\r\n", $pos);
            return undef if $nl < 0;
            my $size = hex(substr($$buf, $pos, $nl - $pos));
            if ($size == 0) {
                my $fin = index($$buf, "\r\n\r\n", $nl - 2);
                return undef if $fin < 0;
                $pos = $fin + 4;
                last;
            }
            return undef if length($$buf) < $nl + 2 + $size + 2;
            $body .= substr($$buf, $nl + 2, $size);
            $pos = $nl + 2 + $size + 2;
        }
    } elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'}[0];
        return undef if length($$buf) < $pos + $len;
        $body = substr($$buf, $pos, $len);
        $pos += $len;
    } else {
        return undef unless $eof;
        $body = substr($$buf, $pos);
        $pos = length $$buf;
    }
    my $raw = substr($$buf, 0, $pos);
    substr($$buf, 0, $pos) = '';
    return { status => $status + 0, reason => $reason // '', proto => $proto,
        headers => \@headers, h => \%h, body => $body, raw => $raw };
}

# Sends requests (raw strings) on a keep-alive connection, pipelined in
# batches, and returns the responses in order. A request is resent on a
# new connection when the server closed the connection before answering
# it (only idempotent requests belong here). Options: port, conn (a name:
# requests with different names use different connections), batch,
# timeout.
sub pipeline {
    my ($self, $reqs, %o) = @_;
    my $port = $o{port} // $self->port(0);
    my $key = $port . '/' . ($o{conn} // '');
    my $batch = $o{batch} || 100;
    my @resp;
    my $i = 0;
    my $retries = 0;
    while ($i < @$reqs) {
        my $c = $self->{conns}{$key} ||= { sock => $self->_connect($port),
            buf => '' };
        my $n = @$reqs - $i < $batch ? @$reqs - $i : $batch;
        my @chunk = @$reqs[$i .. $i + $n - 1];
        my $data = join '', @chunk;
        my $sock = $c->{sock};
        my $ok = eval {
            local $SIG{PIPE} = 'IGNORE';
            my $off = 0;
            while ($off < length $data) {
                my $w = syswrite($sock, $data, length($data) - $off, $off);
                die "write: $!\n" unless defined $w;
                $off += $w;
            }
            1;
        };
        my $got = 0;
        my $eof = 0;
        while ($got < $n) {
            my $head_only = $chunk[$got] =~ /^HEAD /;
            if (my $r = _parse_response(\$c->{buf}, $head_only, $eof)) {
                push @resp, $r;
                $got++;
                next;
            }
            last if $eof;
            my $sel = IO::Select->new($sock);
            croak "timeout waiting for a response on port $port"
                unless $sel->can_read(($o{timeout} || 10) * $SLOW);
            my $rd = sysread($sock, my $tmp, 262144);
            if (!defined $rd) {
                next if $! == EINTR || $! == EAGAIN;
                $eof = 1;
            } elsif ($rd == 0) {
                $eof = 1;
            } else {
                $c->{buf} .= $tmp;
            }
        }
        $i += $got;
        if ($got < $n || $eof) {
            close $sock;
            delete $self->{conns}{$key};
            if ($got == 0) {
                croak "connection closed without a response"
                    . " (request: " . _short($chunk[0]) . ")"
                    if ++$retries > 3;
            } else {
                $retries = 0;
            }
        } else {
            $retries = 0;
        }
    }
    return \@resp;
}

sub _short {
    my ($s) = @_;
    $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return length $s > 200 ? substr($s, 0, 200) . '...' : $s;
}

# One raw request on a fresh connection that is closed afterwards; for
# requests the server may reject. Returns the response, or undef when the
# server closed the connection without one. Options: port, from (the
# source address, another loopback address such as 127.0.0.2), keep_open,
# timeout.
sub raw {
    my ($self, $data, %o) = @_;
    my $sock = $self->_connect($o{port}, $o{from});
    {
        local $SIG{PIPE} = 'IGNORE';
        print {$sock} $data;
    }
    shutdown($sock, 1) unless $o{keep_open};
    my $buf = '';
    my $sel = IO::Select->new($sock);
    my $deadline = time + ($o{timeout} || 10) * $SLOW;
    while (1) {
        my $r = _parse_response(\$buf, $data =~ /^HEAD /, 0);
        if ($r) { close $sock; return $r }
        last if time > $deadline;
        next unless $sel->can_read(0.5);
        my $rd = sysread($sock, my $tmp, 65536);
        last unless $rd;
        $buf .= $tmp;
    }
    close $sock;
    return length $buf ? _parse_response(\$buf, 0, 1) : undef;
}

# The values of a response header (lower-case name), in order.
sub header_values {
    my ($r, $name) = @_;
    return @{$r->{h}{lc $name} || []};
}

# Parses a Set-Cookie value: { name, value, attrs => {lc name => value},
# order => [attribute names as sent] }.
sub parse_set_cookie {
    my ($sc) = @_;
    my ($pair, @attrs) = split /;\s*/, $sc;
    my ($name, $value) = $pair =~ /^([^=]*)=(.*)$/ or return undef;
    my (%a, @order);
    for (@attrs) {
        my ($k, $v) = /^([^=]+)(?:=(.*))?$/ or next;
        $a{lc $k} = $v // 1;
        push @order, $k;
    }
    return { name => $name, value => $value, attrs => \%a, order => \@order };
}

# The parsed Set-Cookie headers of a response for cookie $name (default
# abid), in order.
sub set_cookies {
    my ($r, $name) = @_;
    $name //= 'abid';
    return grep { $_ && $_->{name} eq $name }
        map { parse_set_cookie($_) } header_values($r, 'set-cookie');
}


############################################################################
# access log

sub log_lines {
    my ($self, $name) = @_;
    my $c = $self->read_file($name || 'access.log') // '';
    return split /\n/, $c;
}

# Waits until the log has at least $n lines (nginx writes the line after
# the response went out). Returns the number of lines.
sub wait_log {
    my ($self, $n, $name) = @_;
    my $deadline = time + 5 * $SLOW;
    my $have;
    while (1) {
        $have = () = $self->log_lines($name);
        return $have if $have >= $n || time > $deadline;
        sleep 0.02;
    }
}

# Remembers the end of the log: new_log_lines returns what came after.
sub mark_log {
    my ($self, $name) = @_;
    $name ||= 'access.log';
    $self->{offsets}{$name} = -s "$self->{dir}/$name" || 0;
    return $self;
}

sub new_log_lines {
    my ($self, $n, $name) = @_;
    $name ||= 'access.log';
    my $off = $self->{offsets}{$name} || 0;
    my $deadline = time + 5 * $SLOW;
    my @l;
    while (1) {
        my $c = $self->read_file($name) // '';
        @l = split /\n/, substr($c, $off);
        last if !defined $n || @l >= $n || time > $deadline;
        sleep 0.02;
    }
    return @l;
}

my $json = JSON::PP->new->utf8(0)->relaxed(0);

# Decodes one log line. Bytes that are not valid UTF-8 are kept as bytes
# (the line is read as Latin-1), so every string field compares equal to
# the raw bytes nginx received. Dies on invalid JSON.
sub decode_log_line {
    my ($line) = @_;
    return $json->decode($line);
}

# All lines (or the new ones after mark_log with $o{new}) decoded; dies
# naming the line when one is not JSON.
sub log_json {
    my ($self, %o) = @_;
    my @lines = $o{new} ? $self->new_log_lines($o{count})
        : do { $self->wait_log($o{count}) if $o{count}; $self->log_lines };
    my @out;
    for my $l (@lines) {
        my $v = eval { decode_log_line($l) };
        croak "log line is not JSON ($@): " . _short($l) unless $v;
        push @out, $v;
    }
    return @out;
}


############################################################################
# reference assignment and statistics

# Reads t/data/vectors.tsv: a list of hashes keyed by the header columns.
sub read_vectors {
    my ($path) = @_;
    $path ||= "$REPO/t/data/vectors.tsv";
    open my $fh, '<', $path or croak "$path: $!";
    my $head = <$fh>;
    chomp $head;
    $head =~ s/^#//;
    my @cols = split /\t/, $head;
    my @rows;
    while (my $l = <$fh>) {
        chomp $l;
        next if $l eq '' || $l =~ /^#/;
        my %r;
        @r{@cols} = split /\t/, $l, -1;
        push @rows, \%r;
    }
    return @rows;
}

# The independent reference (scripts/gen-vectors --stdin) for a list of
# [uid, salt, traffic_text, weights_text]: returns hashes like read_vectors.
sub reference_assign {
    my (@q) = @_;
    my $in = join '', map { join("\t", @$_) . "\n" } @q;
    my $tmp = File::Temp->new;
    print $tmp $in;
    close $tmp;
    my ($out, $rc) = _run_capture('/bin/sh', '-c',
        "$PYTHON $REPO/scripts/gen-vectors --stdin < $tmp");
    croak "scripts/gen-vectors --stdin failed ($rc): $out" if $rc;
    my @cols = qw(uid salt traffic weights traffic_bucket variant_bucket
        enrolled variant_index);
    my @rows;
    for my $l (split /\n/, $out) {
        my %r;
        @r{@cols} = split /\t/, $l, -1;
        push @rows, \%r;
    }
    croak 'reference returned ' . @rows . ' rows for ' . @q if @rows != @q;
    return @rows;
}

# scripts/sticky-cookie (the sticky cookie's and ab_uid_from's keyed
# hashes, written apart from the C) over a list of commands: its answers.
sub sticky_reference {
    my (@cmd) = @_;
    my $tmp = File::Temp->new;
    print $tmp map { "$_\n" } @cmd;
    close $tmp;
    my ($out, $rc) = _run_capture('/bin/sh', '-c',
        "$PYTHON $REPO/scripts/sticky-cookie < $tmp");
    my @out = split /\n/, $out;
    croak "scripts/sticky-cookie failed ($rc): $out" if $rc || @out != @cmd;
    return @out;
}

# ln Gamma(x), Lanczos approximation (g = 7, n = 9), |error| < 1e-14.
sub _lgamma {
    my ($x) = @_;
    my @c = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
        771.32342877765313, -176.61502916214059, 12.507343278686905,
        -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7);
    return log(3.14159265358979323846 / sin(3.14159265358979323846 * $x))
        - _lgamma(1 - $x) if $x < 0.5;
    $x -= 1;
    my $a = $c[0];
    my $t = $x + 7.5;
    $a += $c[$_] / ($x + $_) for 1 .. 8;
    return 0.5 * log(2 * 3.14159265358979323846) + ($x + 0.5) * log($t)
        - $t + log($a);
}

# Regularized upper incomplete gamma Q(a, x) (series below a + 1,
# Lentz's continued fraction above), as in Numerical Recipes.
sub _gammq {
    my ($a, $x) = @_;
    return 1 if $x <= 0;
    my $gln = _lgamma($a);
    if ($x < $a + 1) {
        my ($ap, $sum) = ($a, 1 / $a);
        my $del = $sum;
        for (1 .. 10000) {
            $ap++;
            $del *= $x / $ap;
            $sum += $del;
            last if abs($del) < abs($sum) * 1e-16;
        }
        return 1 - $sum * exp(-$x + $a * log($x) - $gln);
    }
    my $tiny = 1e-300;
    my $b = $x + 1 - $a;
    my $c = 1 / $tiny;
    my $d = 1 / $b;
    my $h = $d;
    for my $i (1 .. 10000) {
        my $an = -$i * ($i - $a);
        $b += 2;
        $d = $an * $d + $b;
        $d = $tiny if abs($d) < $tiny;
        $c = $b + $an / $c;
        $c = $tiny if abs($c) < $tiny;
        $d = 1 / $d;
        my $del = $d * $c;
        $h *= $del;
        last if abs($del - 1) < 1e-16;
    }
    return exp(-$x + $a * log($x) - $gln) * $h;
}

# Upper tail of the chi-square distribution: P(X >= x) with df degrees.
sub chi2_sf {
    my ($x, $df) = @_;
    return _gammq($df / 2, $x / 2);
}

# Pearson's chi-square goodness of fit of counts to probabilities.
# Returns (statistic, degrees of freedom, p value).
sub chi2_test {
    my ($obs, $prob) = @_;
    my $n = 0;
    $n += $_ for @$obs;
    my $stat = 0;
    for my $k (0 .. $#$obs) {
        my $e = $n * $prob->[$k];
        croak "expected count of cell $k is $e" if $e <= 0;
        $stat += ($obs->[$k] - $e) ** 2 / $e;
    }
    my $df = @$obs - 1;
    return ($stat, $df, chi2_sf($stat, $df));
}


package ABNginx::Visitor;


sub new {
    my ($class, $port) = @_;
    my $jar = HTTP::CookieJar->new;
    return bless { port => $port, jar => $jar,
        http => ABNginx::_tiny(cookie_jar => $jar) }, $class;
}

sub jar { $_[0]{jar} }

sub get {
    my ($self, $uri, @headers) = @_;
    return ABNginx::_tiny_request($self->{http}, $self->{port}, 'GET', $uri,
        \@headers);
}

# The value of the cookie NAME the visitor holds for the site, or undef.
sub cookie {
    my ($self, $name) = @_;
    my ($c) = grep { $_->{name} eq $name }
        $self->{jar}->cookies_for("http://127.0.0.1:$self->{port}/");
    return $c ? $c->{value} : undef;
}

1;

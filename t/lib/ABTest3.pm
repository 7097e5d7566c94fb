package ABTest3;

# Helpers of the issue-3 tests (events, beacon, QA force, exclusion,
# targeting, layers, holdout, live counters, caching), on top of
# t/lib/ABNginx.pm. Core Perl only.
#
#   use ABTest3 qw(log3 nginx_str by_uri log_ok prom_parse);
#   $t->write_config(log3() . <<'EOF', access_log => 0)->start;

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use Test::More;
use ABNginx;

our @EXPORT_OK = qw(log3 $LOG3 nginx_str by_uri log_ok prom_parse
    error_mark error_since);

# The issue-3 fields of docs/log-format.md next to the core ones.
our $LOG3 = q!log_format ab3 escape=json '{"time":"$msec",!
    . q!"uid":"$ab_uid","uid_new":"$ab_uid_new","exposures":"$ab_exposures",!
    . q!"forced":"$ab_forced","events":"$ab_events",!
    . q!"events_invalid":"$ab_events_invalid","holdout":"$ab_holdout",!
    . q!"status":"$status","method":"$request_method","uri":"$request_uri",!
    . q!"pid":"$pid",!
    . q!"ua":"$http_user_agent"}';!;

# http-level text: the format and the access log of every server that does
# not say otherwise (use with access_log => 0).
sub log3 {
    return "$LOG3\naccess_log %%DIR%%/access.log ab3;\n";
}

# A value as an nginx double-quoted string: " and \ escaped. ($ must not
# appear: nginx has no escape for it in a string.)
sub nginx_str {
    my ($s) = @_;
    croak "\$ in nginx string: $s" if $s =~ /\$/;
    $s =~ s/([\\"])/\\$1/g;
    return qq{"$s"};
}

# Decodes the whole access log, strictly (one test); returns the lines.
sub log_ok {
    my ($t, $what, %o) = @_;
    $t->wait_log($o{count}) if $o{count};
    my @l = eval { $t->log_json };
    ok(!$@, "access log is valid JSON ($what)") or diag($@);
    return @l;
}

# Log lines indexed by uri (the last line of each uri wins).
sub by_uri {
    my (@lines) = @_;
    return map { $_->{uri} => $_ } @lines;
}

# Remembers the end of error.log; error_since returns what came after.
my %error_mark;

sub error_mark {
    my ($t) = @_;
    $error_mark{$t->dir} = (-s $t->dir . '/error.log') || 0;
    return $t;
}

sub error_since {
    my ($t) = @_;
    my $c = $t->read_file('error.log') // '';
    return substr($c, $error_mark{$t->dir} || 0);
}

# Parses the Prometheus text exposition format (0.0.4) strictly. Returns
# ({ family => { help, type, samples => [[name, {labels}, value]] } },
# [errors]). Errors: a sample before its family's HELP and TYPE, a family
# declared twice or interleaved with another, malformed labels or values.
sub prom_parse {
    my ($text) = @_;
    my (%fam, @err, $current);
    my $name_re = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        next if $line eq '';
        if ($line =~ /^# (HELP|TYPE) ($name_re) (.*)$/) {
            my ($kind, $f, $rest) = ($1, $2, $3);
            my $e = $fam{$f} ||= { samples => [], order => [] };
            push @err, "line $n: second $kind of $f" if exists $e->{lc $kind};
            push @err, "line $n: $kind of $f after its samples"
                if @{$e->{samples}};
            if ($kind eq 'TYPE') {
                push @err, "line $n: unknown type $rest" unless
                    $rest =~ /^(counter|gauge|histogram|summary|untyped)$/;
            }
            $e->{lc $kind} = $rest;
            $current = $f;
            next;
        }
        if ($line =~ /^#/) {
            next;                       # a comment
        }
        my ($sname, $labels, $value) = $line =~
            /^($name_re)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/
            or do { push @err, "line $n: malformed sample: $line"; next };
        my %l;
        if (defined $labels && length $labels) {
            my $rest = $labels;
            while (length $rest) {
                $rest =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"//
                    or do { push @err, "line $n: malformed labels {$labels}";
                            last };
                my ($k, $v) = ($1, $2);
                push @err, "line $n: label $k twice" if exists $l{$k};
                $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
                $l{$k} = $v;
                last if $rest eq '';
                $rest =~ s/^,// or do {
                    push @err, "line $n: malformed labels {$labels}"; last };
            }
        }
        push @err, "line $n: bad value $value" unless $value =~
            /^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|NaN|[-+]Inf)$/;
        my $f = $sname;
        my $e = $fam{$f};
        if (!$e || !defined $e->{help} || !defined $e->{type}) {
            push @err, "line $n: sample $sname before HELP and TYPE";
            $e = $fam{$f} ||= { samples => [] };
        }
        push @err, "line $n: sample $sname interleaved with family $current"
            if defined $current && $current ne $f;
        push @{$e->{samples}}, [$sname, \%l, $value];
    }
    return (\%fam, \@err);
}

1;

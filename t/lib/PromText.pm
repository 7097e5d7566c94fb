package PromText;

# A strict reader of the Prometheus text exposition format, for the status
# endpoint's tests (t/module-status.t). Core Perl only.
#
#   use PromText qw(prom_parse);
#   my ($families, $errors) = prom_parse($body);

use strict;
use warnings;

use Exporter qw(import);

our @EXPORT_OK = qw(prom_parse);

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

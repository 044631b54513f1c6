package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/idcards/idcards"
	"github.com/idcards/idcards/registry"
	"github.com/idcards/idcards/scanapi"
	"github.com/spf13/cobra"
	"golang.org/x/time/rate"
)

func (a *app) serveCmd() *cobra.Command {
	var addr, certFile, keyFile string
	var selfSigned, insecure, withSync bool
	var metricsTokenFile string // serve_guard.go
	var metricsOpen bool
	memIndex := true
	cfg := scanapi.DefaultConfig()
	var perToken, perAddr float64
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--tls-cert F --tls-key F | --self-signed]",
		Short: "Run the validation endpoint for networked scanners (HTTP API)",
		Long: `Serve the scanner validation API: scanners and other clinic software ask
"is this card genuine and active?" and get the same answer as ` + "`idcards verify`" + `.

  GET  /v1/ids/{code}     Authorization: Bearer TOKEN  -> {"code","status","checked_at",...}
  POST /v1/scans          {"code": "raw scan text"}   (AIM prefixes, spaces, 2D content)
  GET  /healthz, /metrics (Prometheus), /v1/openapi.json
  GET  /fhir/metadata, /fhir/Patient?identifier=SYSTEM|MRN (or family, given,
       birthdate, gender), /fhir/Patient/{uuid}, /fhir/Patient/$ihe-pix?sourceIdentifier=…
       FHIR R4 for IHE PDQm/PIXm clients, same tokens (docs/fhir.md)

Every well-formed question gets HTTP 200 with a status (active, unassigned,
voided, replaced, unknown, invalid_check, malformed); 400 is a malformed
request, 401 a missing or revoked token, 429 a rate limit (see Retry-After).
Tokens come from ` + "`idcards tokens add NAME`" + `; only read:patient tokens see a
display name, sex and birth year, and only for active IDs (on /fhir/: names,
gender, birth date, phone; other tokens get identifiers only, and may not
search by name). FHIR errors are OperationOutcomes with the same statuses.
The FHIR identifier system of our MRNs is the setting fhir_system (default
urn:idcards:PREFIX of the first series).

TLS: give --tls-cert and --tls-key (TLS 1.2+, AEAD ciphers only). --self-signed
makes a throwaway certificate for testing and prints its fingerprint; do not
use it in production. Without TLS the server listens only on loopback unless
--insecure-listen is given. With TLS every answer carries
Strict-Transport-Security (one year), and serve warns when the key file is
readable by other users (chmod 600 it).

/metrics holds no patient data but is still reconnaissance: beyond loopback
it needs a bearer token by default, read from --metrics-token-file (default
REGISTRY.metrics-token, or for a PostgreSQL registry
~/.config/idcards/HOST_PORT_DB.metrics-token, created with a random token,
mode 0600, when missing); give that file to Prometheus (bearer_token_file).
--metrics-open serves it without a token. Scrapes are rate-limited per
client address (1/s, bursts of 10).

Every answer is logged (time, token name, code, status, client address) in
the scan log, written in batches of up to 4096 rows every 0.5 s so logging
does not cap throughput; each batch adds one scan.batch row to the audit
trail with a digest of its rows, so ` + "`idcards audit verify`" + ` detects tampering.
Read it with ` + "`idcards audit scans`" + ` (see docs/scanlog.md). If the registry is
briefly unwritable, rows wait in memory and are retried (requests slow down
rather than go unlogged). The access log on stderr names routes, never
codes. SIGINT/SIGTERM stop it gracefully, after writing the queued rows.

Scans are answered from an in-memory copy of the registry's identifiers
(about 170 bytes each, plus about 20 per patient for FHIR identifier
searches: 188 MB and a few seconds to build for 1M patients with an ID
each) that follows every change made by any process within about 50 ms; a
code it does not hold is looked up in the file. --memory-index=false reads
the file on every scan.

--sync also runs OpenMRS sync in the background (as configured with
` + "`idcards sync configure`" + `), logging to stderr. Only one process syncs a
registry at a time; others wait their turn.`,
		Example: `  idcards tokens add ward3-scanner
  idcards serve --addr 0.0.0.0:8443 --tls-cert /etc/idcards/cert.pem --tls-key /etc/idcards/key.pem
  curl -H "Authorization: Bearer $TOKEN" https://desk:8443/v1/ids/KLA000001D
  idcards audit scans --token ward3-scanner --limit 20   # what it asked`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			useTLS := certFile != "" || keyFile != "" || selfSigned
			if (certFile == "") != (keyFile == "") {
				return idcards.Errorf(idcards.Invalid, "--tls-cert and --tls-key go together")
			}
			if selfSigned && certFile != "" {
				return idcards.Errorf(idcards.Invalid, "--self-signed or --tls-cert/--tls-key, not both")
			}
			if !useTLS && !insecure && !isLoopback(addr) {
				return idcards.Errorf(idcards.Invalid, "refusing plain HTTP on %s: scanner tokens would cross the network in clear. Give --tls-cert/--tls-key, or --insecure-listen if a TLS proxy sits in front", addr)
			}
			// A limit of 0 or less would mean "the default" (0) or let a
			// burst through and then nothing ever again (negative).
			for _, l := range []struct {
				name string
				v    float64
			}{{"--rate-token", perToken}, {"--rate-addr", perAddr}, {"--burst-token", float64(cfg.TokenBurst)}, {"--burst-addr", float64(cfg.AddrBurst)}} {
				if !(l.v > 0) {
					return idcards.Errorf(idcards.Invalid, "%s must be more than 0 (it is %v)", l.name, l.v)
				}
			}
			cfg.PerToken, cfg.PerAddr = rate.Limit(perToken), rate.Limit(perAddr)
			cfg.HSTS = useTLS
			var err error
			if keyFile != "" {
				a.warnKeyFile(keyFile) // serve_guard.go
			}
			if cfg.MetricsToken, err = a.metricsToken(addr, metricsTokenFile, metricsOpen); err != nil {
				return err
			}
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if withSync {
				if _, ok, err := s.SyncConfig(ctx); err != nil {
					return err
				} else if !ok {
					return idcards.Errorf(idcards.Invalid, "--sync: OpenMRS sync is not configured; run `idcards sync configure` first")
				}
			}
			return a.serve(ctx, s, addr, certFile, keyFile, selfSigned, withSync, memIndex, cfg)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8443", "address to listen on")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "PEM certificate (chain) file")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "PEM private key file")
	cmd.Flags().BoolVar(&selfSigned, "self-signed", false, "generate a throwaway certificate (testing only)")
	cmd.Flags().BoolVar(&insecure, "insecure-listen", false, "allow plain HTTP on a non-loopback address (behind a TLS proxy)")
	cmd.Flags().Float64Var(&perToken, "rate-token", float64(cfg.PerToken), "requests per second allowed per token")
	cmd.Flags().IntVar(&cfg.TokenBurst, "burst-token", cfg.TokenBurst, "burst allowed per token")
	cmd.Flags().Float64Var(&perAddr, "rate-addr", float64(cfg.PerAddr), "requests per second allowed per client address")
	cmd.Flags().IntVar(&cfg.AddrBurst, "burst-addr", cfg.AddrBurst, "burst allowed per client address")
	cmd.Flags().BoolVar(&memIndex, "memory-index", true, "answer scans from an in-memory copy of the identifiers (false: read the file every time)")
	cmd.Flags().BoolVar(&withSync, "sync", false, "also run OpenMRS sync in the background (see `idcards sync configure`)")
	cmd.Flags().StringVar(&metricsTokenFile, "metrics-token-file", "", "bearer token /metrics requires (default beyond loopback: REGISTRY.metrics-token, made when missing)")
	cmd.Flags().BoolVar(&metricsOpen, "metrics-open", false, "serve /metrics without a token even beyond loopback")
	return cmd
}

func (a *app) serve(ctx context.Context, s *registry.Store, addr, certFile, keyFile string, selfSigned, withSync, memIndex bool, cfg scanapi.Config) error {
	log := slog.New(slog.NewTextHandler(a.stderr, nil))
	var reg scanapi.Registry = s
	if memIndex {
		t0 := time.Now()
		m, err := registry.NewMirror(ctx, s, func(format string, args ...any) { log.Warn(fmt.Sprintf(format, args...)) })
		if err != nil {
			return err
		}
		defer m.Close()
		log.Info("identifiers held in memory", "count", m.Len(), "built_in", time.Since(t0).Round(time.Millisecond))
		reg = mirrored{s, m}
	}
	if withSync {
		_, stop := a.startBackgroundSync(ctx, s, "serve", log, nil)
		defer stop()
	}
	api := scanapi.New(reg, cfg, log)
	defer api.Close()
	_ = api.Register(scanapi.NewSupplyCollector(s.Supply)) // days of IDs left (issue 17)
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if certFile != "" || selfSigned {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		}}
		if selfSigned {
			cert, fp, err := selfSignedCert()
			if err != nil {
				return err
			}
			srv.TLSConfig.Certificates = []tls.Certificate{cert}
			fmt.Fprintf(a.stderr, "WARNING: self-signed certificate for testing only, do not use in production.\nSHA-256 fingerprint: %s\n", fp)
		} else {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return idcards.Errorf(idcards.Invalid, "TLS certificate: %v", err)
			}
			srv.TLSConfig.Certificates = []tls.Certificate{cert}
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return idcards.Errorf(idcards.Unavailable, "listen on %s: %v", addr, err)
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	a.printf("listening on %s://%s\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shut)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	fmt.Fprintln(a.stderr, "stopped; scan log flushed")
	return err
}

// mirrored is the registry with scans answered from its in-memory mirror.
type mirrored struct {
	*registry.Store
	m *registry.Mirror
}

// /fhir/ is served only when the registry given to scanapi is a
// FHIRRegistry: a method missing here would silently turn it off.
var _ scanapi.FHIRRegistry = mirrored{}
var _ scanapi.FHIRRegistry = (*registry.Store)(nil)

func (r mirrored) VerifyScan(ctx context.Context, raw string, withPatient bool) (idcards.Verification, error) {
	return r.m.VerifyScan(ctx, raw, withPatient)
}

// VerifyRecord answers FHIR identifier searches from the mirror too.
func (r mirrored) VerifyRecord(ctx context.Context, raw string) (idcards.Verification, *registry.PatientRecord, error) {
	return r.m.VerifyRecord(ctx, raw)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// selfSignedCert makes a P-256 certificate for localhost valid 30 days.
func selfSignedCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "idcards self-signed (testing only)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:]), nil
}

func (a *app) tokensCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Scanner tokens for the validation endpoint (admin)",
		Long: `Tokens let scanners and other software call ` + "`idcards serve`" + `. A token is
shown once, when it is made; only its SHA-256 hash is kept, so a lost token is
revoked and replaced, never recovered. Scopes: verify (status only) and
read:patient (also display name, sex and birth year of active IDs).`,
	}
	var scope string
	add := &cobra.Command{
		Use:     "add NAME [--scope verify|read:patient]",
		Short:   "Make a token and print it once",
		Example: "  idcards tokens add ward3-scanner\n  idcards tokens add lab-system --scope read:patient",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			secret, err := s.CreateToken(ctx, args[0], scope)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stderr, "token for "+args[0]+" (shown once; store it in the scanner now):")
			a.printf("%s\n", secret)
			return nil
		},
	}
	add.Flags().StringVar(&scope, "scope", registry.ScopeVerify, "verify or read:patient")
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List tokens: name, scope, created, last used, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			toks, err := s.Tokens(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(toks)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCOPE\tCREATED\tBY\tLAST USED\tREVOKED")
			for _, t := range toks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(t.Name), t.Scope, t.CreatedAt.Format(time.DateOnly), printable(t.CreatedBy), when(t.LastUsed), when(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Stop a token working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, ctx, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			a.printf("revoked %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

package pgtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TLSCluster is a private server that also listens on loopback TCP and
// accepts TCP connections over TLS only, with a certificate for
// "localhost" signed by a CA made for the test.
type TLSCluster struct {
	*Cluster
	Port int
	// CA is the PEM file of the CA that signed the server's certificate
	// (sslrootcert=); OtherCA is a CA that did not.
	CA, OtherCA string
}

// NewTLSCluster starts a TLSCluster (see NewCluster for what it needs).
func NewTLSCluster(t testing.TB) *TLSCluster {
	t.Helper()
	Require(t)
	tc := &TLSCluster{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	certs := t.TempDir()
	caCert, caKey := newCA(t, "idcards test CA")
	other, _ := newCA(t, "some other CA")
	tc.CA, tc.OtherCA = filepath.Join(certs, "ca.pem"), filepath.Join(certs, "other-ca.pem")
	writePEM(t, tc.CA, "CERTIFICATE", caCert.Raw)
	writePEM(t, tc.OtherCA, "CERTIFICATE", other.Raw)
	tc.Cluster = newCluster(t, func(c *Cluster) {
		data := filepath.Join(c.dir, "data")
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(2),
			Subject:      pkix.Name{CommonName: "localhost"},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, filepath.Join(data, "server.crt"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(data, "server.key"), "PRIVATE KEY", kb)
		// TCP only over TLS; the socket stays as initdb made it.
		hba := "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n"
		if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
			t.Fatal(err)
		}
		if c.user != "" {
			if out, err := exec.Command("chown", c.user, filepath.Join(data, "server.crt"), filepath.Join(data, "server.key"), filepath.Join(data, "pg_hba.conf")).CombinedOutput(); err != nil {
				t.Fatalf("pgtest: chown: %v %s", err, out)
			}
		}
		c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c ssl=on", tc.Port)
	})
	// The socket is named after the port too.
	tc.URL += fmt.Sprintf("&port=%d", tc.Port)
	return tc
}

// TCPURL names database name over TCP to localhost with the given
// sslmode and root certificate ("" for none).
func (tc *TLSCluster) TCPURL(name, sslmode, rootCert string) string {
	u := fmt.Sprintf("postgres://postgres@localhost:%d/%s?sslmode=%s", tc.Port, name, sslmode)
	if rootCert != "" {
		u += "&sslrootcert=" + rootCert
	}
	return u
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

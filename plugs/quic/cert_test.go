package quic

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/f7d52a8e/multiserver"
	"github.com/f7d52a8e/multiserver/address"
)

// vectorsPath holds the vectors that spec/quic.md describes.
const vectorsPath = "../../spec/vectors/quic.json"

var update = flag.Bool("update-vectors", false, "rewrite "+vectorsPath+" from the code")

// hexBytes is a hex string in the vectors file.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type certVector struct {
	Name   string   `json:"name"`
	Seed   hexBytes `json:"seed"`    // Ed25519 seed
	AppKey hexBytes `json:"app_key"` // as Config.AppKey; all zero stands for nil
	Key    string   `json:"key"`     // the public key as addresses carry it
	// Tag is HMAC-SHA256(app_key, public key): the subject key
	// identifier.
	Tag hexBytes `json:"tag"`
	// Extension is the DER of the certificate's subject key identifier
	// extension: SEQUENCE { OID 2.5.29.14, OCTET STRING { OCTET STRING tag } }.
	Extension hexBytes `json:"extension"`
	// Certificate is the whole certificate, DER, as this package makes it.
	Certificate hexBytes `json:"certificate"`
}

type goAwayVector struct {
	Opened uint64   `json:"opened"`
	Wire   hexBytes `json:"wire"`
}

type vectorFile struct {
	Comment      []string       `json:"comment"`
	ALPN         string         `json:"alpn"`
	StreamHeader hexBytes       `json:"stream_header"`
	Certificates []certVector   `json:"certificates"`
	GoAway       []goAwayVector `json:"goaway"`
}

// seq returns n bytes counting up from first.
func seq(first byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = first + byte(i)
	}
	return b
}

// makeVectors computes the vectors from the code.
func makeVectors(t *testing.T) vectorFile {
	t.Helper()
	v := vectorFile{
		Comment: []string{
			"Test vectors for the multiserver \"quic\" plug; see spec/quic.md. Byte strings are hex.",
			"Regenerate with: go test ./plugs/quic -run TestVectors -update-vectors",
		},
		ALPN:         ALPN,
		StreamHeader: []byte{streamHeader},
	}
	for _, in := range []struct {
		name         string
		seed, appKey []byte
	}{
		{"basic", seq(0x20, 32), seq(0x00, 32)},
		{"no app key", seq(0x40, 32), make([]byte, AppKeySize)},
	} {
		id := ed25519.NewKeyFromSeed(in.seed)
		pub := id.Public().(ed25519.PublicKey)
		cert, err := newCertificate(id, in.appKey)
		if err != nil {
			t.Fatal(err)
		}
		v.Certificates = append(v.Certificates, certVector{
			Name:        in.name,
			Seed:        in.seed,
			AppKey:      in.appKey,
			Key:         address.EncodeKey(pub),
			Tag:         appKeyTag(in.appKey, pub),
			Extension:   skiExtension(t, cert.Leaf),
			Certificate: cert.Certificate[0],
		})
	}
	for _, n := range []uint64{0, 1, 300} {
		var b [goAwaySize]byte
		b[0] = goAwayType
		binary.BigEndian.PutUint64(b[1:], n)
		v.GoAway = append(v.GoAway, goAwayVector{Opened: n, Wire: b[:]})
	}
	return v
}

// oidSubjectKeyID is id-ce-subjectKeyIdentifier (RFC 5280, 4.2.1.2).
var oidSubjectKeyID = asn1.ObjectIdentifier{2, 5, 29, 14}

// skiExtension returns the DER of the subject key identifier extension
// of c, as it stands in the certificate.
func skiExtension(t *testing.T, c *x509.Certificate) []byte {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSubjectKeyID) {
			der, err := asn1.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			return der
		}
	}
	t.Fatal("certificate has no subject key identifier")
	return nil
}

// TestVectors checks spec/vectors/quic.json against the code.
func TestVectors(t *testing.T) {
	want := makeVectors(t)
	if *update {
		b, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var got vectorFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%s: %v", vectorsPath, err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("%s differs from what the code computes:\n got %s\nwant %s", vectorsPath, gotJSON, wantJSON)
	}
}

// TestVectorsIndependent recomputes the vectors' tags and extensions
// from the spec with the standard library alone, and checks each
// vector's certificate as a peer would.
func TestVectorsIndependent(t *testing.T) {
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.ALPN != "multiserver-quic/1" || !bytes.Equal(v.StreamHeader, []byte{0}) {
		t.Errorf("alpn %q, stream header %x; want multiserver-quic/1 and 00", v.ALPN, v.StreamHeader)
	}
	for _, cv := range v.Certificates {
		t.Run(cv.Name, func(t *testing.T) {
			pub := ed25519.NewKeyFromSeed(cv.Seed).Public().(ed25519.PublicKey)
			if address.EncodeKey(pub) != cv.Key {
				t.Errorf("key %s, want %s", cv.Key, address.EncodeKey(pub))
			}
			m := hmac.New(sha256.New, cv.AppKey)
			m.Write(pub)
			tag := m.Sum(nil)
			if !bytes.Equal(tag, cv.Tag) {
				t.Errorf("tag %x, want HMAC-SHA256(app key, public key) = %x", cv.Tag, tag)
			}
			// 30 len 06 03 55 1d 0e 04 22 04 20 tag
			ext := append([]byte{0x30, 0x29, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x22, 0x04, 0x20}, tag...)
			if !bytes.Equal(ext, cv.Extension) {
				t.Errorf("extension %x, want %x", cv.Extension, ext)
			}
			if !bytes.Contains(cv.Certificate, ext) {
				t.Error("the certificate does not hold the extension")
			}
			c, err := x509.ParseCertificate(cv.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(c.PublicKey) || c.Subject.CommonName != "multiserver-quic" || c.SerialNumber.Int64() != 1 {
				t.Errorf("certificate key %x, subject %q, serial %v", c.PublicKey, c.Subject, c.SerialNumber)
			}
			got, err := peerKey([][]byte{cv.Certificate}, cv.AppKey)
			if err != nil || !got.Equal(pub) {
				t.Errorf("peerKey = %x, %v; want %x", got, err, pub)
			}
		})
	}
	for _, g := range v.GoAway {
		want := binary.BigEndian.AppendUint64([]byte{0x01}, g.Opened)
		if !bytes.Equal(g.Wire, want) {
			t.Errorf("GOAWAY(%d) = %x, want %x", g.Opened, g.Wire, want)
		}
	}
}

// TestPeerKeyRefuses feeds peerKey certificates that break each rule.
func TestPeerKeyRefuses(t *testing.T) {
	appKey := seq(0, 32)
	id := ed25519.NewKeyFromSeed(seq(0x20, 32))
	pub := id.Public().(ed25519.PublicKey)
	good, err := newCertificate(id, appKey)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newCertificate(ed25519.NewKeyFromSeed(seq(0x60, 32)), appKey)

	// A certificate signed by another key than its own.
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: certSubject},
		NotBefore: certNotBefore, NotAfter: certNotAfter, SubjectKeyId: appKeyTag(appKey, pub)}
	foreignSigned, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	ecCert := ecdsaCertificate(t)
	// No subject key identifier at all.
	noTag := *tmpl
	noTag.SubjectKeyId = []byte{1}
	untagged, _ := x509.CreateCertificate(nil, &noTag, &noTag, pub, id)

	for _, tt := range []struct {
		name string
		raw  [][]byte
		app  []byte
		want error
		msg  string
	}{
		{"none", nil, appKey, ErrCertificate, "presented 0 certificates"},
		{"two", [][]byte{good.Certificate[0], other.Certificate[0]}, appKey, ErrCertificate, "presented 2 certificates"},
		{"garbage", [][]byte{[]byte("not a certificate")}, appKey, ErrCertificate, "invalid peer certificate"},
		{"ecdsa", [][]byte{ecCert}, appKey, ErrCertificate, "key is ECDSA"},
		{"signed by another key", [][]byte{foreignSigned}, appKey, ErrCertificate, "not signed by its own key"},
		{"another app key", [][]byte{good.Certificate[0]}, seq(1, 32), ErrAppKey, address.EncodeKey(pub)},
		{"no tag", [][]byte{untagged}, appKey, ErrAppKey, "another app key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := peerKey(tt.raw, tt.app)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("peerKey = %x, %v; want %v with %q", k, err, tt.want, tt.msg)
			}
			if errors.Is(err, multiserver.ErrWrongKey) {
				t.Errorf("%v claims a wrong key", err)
			}
		})
	}
	if k, err := peerKey(good.Certificate, appKey); err != nil || !k.Equal(pub) {
		t.Fatalf("peerKey(good) = %x, %v", k, err)
	}
}

// ecdsaCertificate returns a self-signed certificate with an ECDSA key.
func ecdsaCertificate(t *testing.T) []byte {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: certNotBefore, NotAfter: certNotAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCertificateStable checks that a node's certificate depends on its
// keys alone: made twice, it is the same bytes.
func TestCertificateStable(t *testing.T) {
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	a, err := newCertificate(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newCertificate(id, nil)
	if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Fatal("two certificates of one key differ")
	}
}

// FuzzPeerKey feeds arbitrary bytes to the certificate check a peer's
// certificate goes through. It must never panic, and what it accepts
// must be a certificate of the key it returns, tagged for the app key.
func FuzzPeerKey(f *testing.F) {
	appKey := seq(0, 32)
	good, _ := newCertificate(ed25519.NewKeyFromSeed(seq(0x20, 32)), appKey)
	f.Add(good.Certificate[0])
	f.Add(good.Certificate[0][:100])
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := peerKey([][]byte{der}, appKey)
		if err != nil {
			return
		}
		c, perr := x509.ParseCertificate(der)
		if perr != nil || !k.Equal(c.PublicKey) || !bytes.Equal(c.SubjectKeyId, appKeyTag(appKey, k)) {
			t.Fatalf("peerKey accepted %x as %x", der, k)
		}
	})
}

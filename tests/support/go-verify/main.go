// go-verify: crypto/x509 checks independent of OpenSSL/GnuTLS. Stdlib only, builds offline; built and
// run by tests/support/verifiers.ts (goVerify, goCrlVerify).
//
// Chain: go-verify -leaf leaf.pem [-chain intermediates.pem] -root root.pem [-purpose serverAuth|clientAuth|any]
// [-host name] [-time RFC3339]. CRL: go-verify -crl crl.der -issuer issuer.pem (x509.ParseRevocationList,
// CheckSignatureFrom; prints the entries with their reason codes).
package main

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"time"
)

func load(path string) []*x509.Certificate {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("FAIL go-x509: read", path, err)
		os.Exit(2)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			fmt.Println("FAIL go-x509: parse", path, err)
			os.Exit(2)
		}
		out = append(out, c)
	}
	if len(out) == 0 { // maybe DER
		if c, err := x509.ParseCertificate(b); err == nil {
			out = append(out, c)
		}
	}
	return out
}

var oidReasonCode = asn1.ObjectIdentifier{2, 5, 29, 21}

// verifyCrl parses a DER (or PEM) CRL with crypto/x509 and checks its signature against the issuer.
func verifyCrl(crlPath, issuerPath string) {
	b, err := os.ReadFile(crlPath)
	if err != nil {
		fmt.Println("FAIL go-x509: read", crlPath, err)
		os.Exit(2)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	crl, err := x509.ParseRevocationList(b)
	if err != nil {
		fmt.Println("FAIL go-x509: parse CRL:", err)
		os.Exit(1)
	}
	issuers := load(issuerPath)
	if len(issuers) == 0 {
		fmt.Println("FAIL go-x509: no issuer certificate")
		os.Exit(2)
	}
	if err := crl.CheckSignatureFrom(issuers[0]); err != nil {
		fmt.Printf("FAIL go-x509: CRL signature: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("PASS go-x509: CRL number %v, %d entries, next update %s\n", crl.Number, len(crl.RevokedCertificates),
		crl.NextUpdate.UTC().Format(time.RFC3339))
	for _, rc := range crl.RevokedCertificates {
		reason := -1
		for _, ext := range rc.Extensions {
			if ext.Id.Equal(oidReasonCode) {
				var e asn1.Enumerated
				if _, err := asn1.Unmarshal(ext.Value, &e); err == nil {
					reason = int(e)
				}
			}
		}
		fmt.Printf("entry %x reason %d\n", rc.SerialNumber, reason)
	}
}

func main() {
	crlP := flag.String("crl", "", "CRL (DER or PEM) to verify against -issuer")
	issuerP := flag.String("issuer", "", "issuer certificate PEM (with -crl)")
	leafP := flag.String("leaf", "", "leaf PEM")
	chainP := flag.String("chain", "", "intermediates PEM")
	rootP := flag.String("root", "", "root(s) PEM")
	purpose := flag.String("purpose", "serverAuth", "serverAuth|clientAuth|any")
	host := flag.String("host", "", "DNS name to check")
	at := flag.String("time", "", "verification time RFC3339 (default now)")
	flag.Parse()
	if *crlP != "" {
		verifyCrl(*crlP, *issuerP)
		return
	}
	leaves := load(*leafP)
	if len(leaves) == 0 {
		fmt.Println("FAIL go-x509: no leaf certificate")
		os.Exit(2)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range load(*rootP) {
		roots.AddCert(c)
	}
	for _, c := range load(*chainP) {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: *host}
	switch *purpose {
	case "serverAuth":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case "clientAuth":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case "any":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	default:
		fmt.Println("FAIL go-x509: bad purpose", *purpose)
		os.Exit(2)
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Println("FAIL go-x509: bad time", err)
			os.Exit(2)
		}
		opts.CurrentTime = t
	}
	chains, err := leaves[0].Verify(opts)
	if err != nil {
		fmt.Printf("FAIL go-x509: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("PASS go-x509: %d chain(s), depth %d\n", len(chains), len(chains[0]))
}

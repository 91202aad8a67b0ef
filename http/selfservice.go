package http

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/portcullis/portcullis/commands"
	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/projections"
)

// Self-service (nevisIDM SelfAdmin): a one-time code mailed to an individual
// buys a short-lived X-Token with which that individual acts on their own
// records only. Codes are six digits, stored only as a keyed MAC, expire,
// are single-use and lock after five wrong tries. No code or token is ever
// logged, appended or sent anywhere but to the individual's mailbox.

// SMTP says how codes are mailed.
type SMTP struct {
	Addr     string // host:port; empty means codes cannot be sent
	From     string
	Username string // PLAIN auth when set
	Password string
}

const selfAudience = "portcullis-self"

func (s *Server) registerSelfServiceRoutes(r *mux.Router) {
	r.HandleFunc("/individuals/{id}/otp", s.native("individuals:write", s.handleOTPSend)).Methods("POST")
	r.HandleFunc("/individuals/{id}/otp/verify", s.native("individuals:write", s.handleOTPVerify)).Methods("POST")
}

// otpKey derives the MAC key of codes from the signing key, so that a copy
// of the code file alone cannot be brute-forced offline.
func (s *Server) otpMAC(tenant, individualID, code string) []byte {
	k := sha256.Sum256(append([]byte("portcullis/otp/v1\x00"), s.signingKey.Seed()...))
	m := hmac.New(sha256.New, k[:])
	fmt.Fprintf(m, "%s\x00%s\x00%s", tenant, individualID, code)
	return m.Sum(nil)
}

func newOTP() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// maskEmail shows enough of an address to recognise it, not to harvest it.
func maskEmail(e string) string {
	local, domainPart, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	return local[:1] + "***@" + domainPart
}

func (s *Server) handleOTPSend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	ind, ok, err := s.cmd.Individual(r.Context(), m.Tenant, id)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.CodeNotFound, "individual %s not found", id)
	}
	if ind.Email == "" {
		return domain.Errorf(domain.CodeConflict, "the individual has no email to send a code to")
	}
	if s.smtp.Addr == "" {
		return domain.Errorf(domain.CodeUnavailable, "email delivery is not configured on this server (--smtp-addr)")
	}
	if ok, wait := s.otpSendLimits.allow(m.Tenant + "/" + id); !ok {
		return errTooManyRequests(wait)
	}
	code, err := newOTP()
	if err != nil {
		return err
	}
	expires := time.Now().Add(commands.OTPExpiry).UTC()
	if err := s.otps.Put(m.Tenant, id, s.otpMAC(m.Tenant, id, code), expires); err != nil {
		return err
	}
	body := fmt.Sprintf("Your Portcullis one-time code is %s.\r\nIt expires at %s and works once.\r\n",
		code, expires.Format(time.RFC3339))
	if err := s.sendMail(ind.Email, "Your Portcullis code", body); err != nil {
		s.logger.Warn("otp mail not delivered", "req_id", requestID(r.Context()), "err", err.Error())
		return domain.Errorf(domain.CodeUnavailable, "the code could not be mailed; retry later")
	}
	res, err := s.cmd.RecordOTP(r.Context(), m, id, &domain.OTPSent{ExpiresAt: expires})
	if err != nil {
		return err
	}
	w.Header().Set("X-Consistency-Token", formatPos(res.Position))
	writeJSON(w, http.StatusAccepted, nativeItem{Msg: "a one-time code was mailed to the individual",
		Data: map[string]any{"sent_to": maskEmail(ind.Email), "expires_at": expires}})
	return nil
}

func (s *Server) handleOTPVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	obj, err := decodeObject(r)
	if err != nil {
		return err
	}
	if err := obj.only("code"); err != nil {
		return err
	}
	code, _, err := obj.str("code", false)
	if err != nil {
		return err
	}
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return domain.Invalid("code", "must be the six digits that were mailed")
	}
	if ok, wait := s.otpVerifyLimits.allow(m.Tenant + "/" + id); !ok {
		return errTooManyRequests(wait)
	}
	attempts, err := s.otps.Verify(m.Tenant, id, s.otpMAC(m.Tenant, id, code), time.Now())
	switch {
	case errors.Is(err, projections.ErrOTPLocked):
		return domain.Errorf(domain.CodeForbidden, "the code is locked after %d wrong tries; request a new one", projections.MaxOTPAttempts)
	case errors.Is(err, projections.ErrOTPInvalid):
		if attempts == projections.MaxOTPAttempts {
			if _, err := s.cmd.RecordOTP(r.Context(), m, id, &domain.OTPLocked{Attempts: attempts}); err != nil {
				return err
			}
		}
		return domain.Errorf(domain.CodeUnauthorized, "the code is wrong, expired or already used")
	case err != nil:
		return err
	}
	expires := time.Now().Add(commands.SelfTokenTTL)
	claims := jwt.RegisteredClaims{Issuer: tokenIssuer, Subject: id, Audience: jwt.ClaimStrings{selfAudience},
		IssuedAt: jwt.NewNumericDate(time.Now()), NotBefore: jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(expires), ID: uuid.NewString()}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, selfClaims{Tenant: m.Tenant, RegisteredClaims: claims})
	tok.Header["kid"] = keyID(s.signingKey.Public().(ed25519.PublicKey))
	signed, err := tok.SignedString(s.signingKey)
	if err != nil {
		return err
	}
	res, err := s.cmd.RecordOTP(r.Context(), m, id, &domain.OTPVerified{ExpiresAt: expires.UTC()})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Consistency-Token", formatPos(res.Position))
	writeJSON(w, http.StatusOK, nativeItem{Msg: "send this token as X-Token to act on your own records",
		Data: map[string]any{"token": signed, "token_type": "X-Token", "expires_in": int(commands.SelfTokenTTL.Seconds())}})
	return nil
}

type selfClaims struct {
	Tenant string `json:"tenant"`
	jwt.RegisteredClaims
}

// errInvalidSelfToken is what any unusable X-Token gets; each face words it
// in its own envelope (nevisIDM: 422 errors.invalidJWTToken).
var errInvalidSelfToken = errors.New("invalid self-service token")

// authenticateSelf resolves an X-Token into the individual it speaks for.
func (s *Server) authenticateSelf(raw string) (principal, error) {
	var claims selfClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.signingKey.Public(), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}), jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(selfAudience), jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second))
	if err != nil || !domain.ValidToken(claims.Subject) {
		return principal{}, errInvalidSelfToken
	}
	if _, ok, err := s.db.Individual(claims.Tenant, claims.Subject); err != nil {
		return principal{}, err
	} else if !ok {
		return principal{}, errInvalidSelfToken
	}
	return principal{Tenant: claims.Tenant, Actor: "individual:" + claims.Subject, Self: claims.Subject}, nil
}

// sendMail delivers one plain-text message, bounded in time.
func (s *Server) sendMail(to, subject, body string) error {
	conn, err := net.DialTimeout("tcp", s.smtp.Addr, 10*time.Second)
	if err != nil {
		return err
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	host, _, _ := net.SplitHostPort(s.smtp.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if s.smtp.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.smtp.Username, s.smtp.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.smtp.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	wc, err := c.Data()
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		s.smtp.From, to, subject, body)
	if _, err := wc.Write([]byte(msg)); err != nil {
		return err
	}
	if err := wc.Close(); err != nil {
		return err
	}
	return c.Quit()
}

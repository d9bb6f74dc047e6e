-- Issue #12 (PostgreSQL CPU per certificate): certificates loses its foreign key to certificate_authorities. Its check
-- was a query per inserted row (SPI, at the end of the batch statement: ≈ 4 % of the backends' CPU, session 29). Every
-- write of a certificate row (batch statement, general unit of work, importRows) moves its (CA, profile, status)
-- counter in the same statement or transaction, and certificate_counts' own foreign key to the CA checks it — once per
-- key and statement, with the same FOR KEY SHARE lock — so a certificate of an unknown CA is still refused. The row
-- triggers below refuse a certificate moved to an unknown CA and do the ON DELETE CASCADE (a CA's deletion takes its
-- certificates, and with them their search terms, keys and SVIDs by their own triggers and foreign keys).
ALTER TABLE "certificates" DROP CONSTRAINT "certificates_ca_id_certificate_authorities_id_fk";--> statement-breakpoint
CREATE FUNCTION "pkim_certificates_check_ca"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM FROM "certificate_authorities" a WHERE a."id" = NEW."ca_id" FOR KEY SHARE OF a;
  IF FOUND THEN RETURN NULL; END IF;
  RAISE foreign_key_violation USING
    MESSAGE = format('update on table "certificates" violates the foreign key check "certificates_check_ca": '
      'no CA %L', NEW."ca_id"),
    TABLE = 'certificates', CONSTRAINT = 'certificates_check_ca';
END
$$;--> statement-breakpoint
CREATE TRIGGER "certificates_check_ca" AFTER UPDATE OF "ca_id" ON "certificates"
  FOR EACH ROW WHEN (OLD."ca_id" IS DISTINCT FROM NEW."ca_id") EXECUTE FUNCTION "pkim_certificates_check_ca"();--> statement-breakpoint
CREATE FUNCTION "pkim_certificate_authorities_delete_certificates"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "certificates" WHERE "ca_id" = OLD."id";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "certificate_authorities_delete_certificates" AFTER DELETE ON "certificate_authorities"
  FOR EACH ROW EXECUTE FUNCTION "pkim_certificate_authorities_delete_certificates"();

//! The words of `index.html`, in French or English (the subject's locale). English reuses the
//! record of processing (`policy::processing`) and the registry's descriptions; French is
//! written here, one exhaustive match per vocabulary, so a new category or retention rule does
//! not compile until it has its French.

use crate::policy::Category;
use crate::policy::processing::{self, Activity};
use crate::policy::registry::{Retention, Table};

/// The language of the human-readable page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// From a user's locale (`fr`, `fr-FR`, `en-GB`…): French for French, English otherwise.
    pub fn of_locale(locale: Option<&str>) -> Lang {
        match locale {
            Some(l) if l.trim().to_ascii_lowercase().starts_with("fr") => Lang::Fr,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// The fixed sentences of the page.
pub struct Ui {
    pub title: &'static str,
    pub intro: &'static str,
    pub generated: &'static str,
    pub controller: &'static str,
    pub dpo: &'static str,
    pub why_heading: &'static str,
    pub purposes: &'static str,
    pub legal_basis: &'static str,
    pub retention: &'static str,
    pub recipients: &'static str,
    pub no_recipient: &'static str,
    pub data_heading: &'static str,
    pub rows: &'static str,
    pub none: &'static str,
    pub documents_heading: &'static str,
    pub documents_intro: &'static str,
    pub other_person: &'static str,
}

pub fn ui(lang: Lang) -> &'static Ui {
    match lang {
        Lang::Fr => &Ui {
            title: "Vos données personnelles",
            intro: "Ce document présente toutes les données que l'organisation détient à votre sujet, \
                    telles qu'elles étaient à la date ci-dessous. Le fichier data.json contient les \
                    mêmes données dans un format lisible par une machine (portabilité), décrit par \
                    un schéma JSON ; le dossier documents/ contient vos pièces justificatives.",
            generated: "Export produit le",
            controller: "Responsable du traitement",
            dpo: "Délégué à la protection des données",
            why_heading: "Pourquoi nous les détenons",
            purposes: "Finalités",
            legal_basis: "Base légale",
            retention: "Durée de conservation",
            recipients: "Destinataires",
            no_recipient: "aucun en dehors de l'organisation",
            data_heading: "Les données",
            rows: "lignes",
            none: "Aucune donnée.",
            documents_heading: "Pièces justificatives",
            documents_intro: "Vos documents, déchiffrés, sont dans le dossier documents/ de l'archive.",
            other_person: "autre personne",
        },
        Lang::En => &Ui {
            title: "Your personal data",
            intro: "This page shows all the data the organisation holds about you, as it stood at \
                    the date below. The file data.json holds the same data in a machine-readable \
                    format (portability), described by a JSON Schema; the documents/ folder holds \
                    your supporting documents.",
            generated: "Export made on",
            controller: "Controller",
            dpo: "Data-protection officer",
            why_heading: "Why we hold it",
            purposes: "Purposes",
            legal_basis: "Legal basis",
            retention: "Retention",
            recipients: "Recipients",
            no_recipient: "none outside the organisation",
            data_heading: "The data",
            rows: "rows",
            none: "No data.",
            documents_heading: "Supporting documents",
            documents_intro: "Your documents, decrypted, are in the documents/ folder of the archive.",
            other_person: "another person",
        },
    }
}

/// What one category is, why it is processed, on which basis and who receives it.
pub struct CategoryText {
    pub name: String,
    pub purposes: Vec<String>,
    pub legal_basis: String,
    pub recipients: Vec<String>,
}

fn category_of(name: &str) -> Option<Category> {
    Category::ALL.into_iter().find(|c| c.as_str() == name)
}

/// The texts of the category named `name` (a registry category).
pub fn category(lang: Lang, name: &str) -> CategoryText {
    let Some(cat) = category_of(name) else {
        return CategoryText {
            name: name.replace('_', " "),
            purposes: Vec::new(),
            legal_basis: String::new(),
            recipients: Vec::new(),
        };
    };
    match lang {
        Lang::En => {
            let record: Vec<Activity> = processing::record();
            let a = record.into_iter().find(|a| a.category == name);
            CategoryText {
                name: name.replace('_', " "),
                purposes: a
                    .as_ref()
                    .map(|a| a.purposes.iter().map(|p| (*p).to_owned()).collect())
                    .unwrap_or_default(),
                legal_basis: a.as_ref().map(|a| a.legal_basis.to_owned()).unwrap_or_default(),
                recipients: a
                    .map(|a| a.recipients.iter().map(|p| (*p).to_owned()).collect())
                    .unwrap_or_default(),
            }
        }
        Lang::Fr => french(cat),
    }
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn french(cat: Category) -> CategoryText {
    let stripe: &[&str] = &[
        "Stripe (prestataire de paiement) : montant, devise et identifiants de paiement seulement",
    ];
    let (name, purposes, basis, recipients): (&str, &[&str], &str, &[&str]) = match cat {
        Category::Identity => (
            "identité",
            &[
                "gestion du compte",
                "organisation des formations",
                "service client",
                "prospection avec votre consentement",
            ],
            "contrat (art. 6(1)(b)) ; consentement pour la prospection (art. 6(1)(a))",
            &[],
        ),
        Category::Contact => (
            "coordonnées",
            &[
                "gestion du compte",
                "organisation des formations",
                "service client",
                "prospection avec votre consentement",
            ],
            "contrat (art. 6(1)(b)) ; consentement pour la prospection (art. 6(1)(a))",
            &[],
        ),
        Category::BirthDate => (
            "date de naissance",
            &["protection des mineurs : consentement et représentation par le responsable légal"],
            "obligation légale (art. 6(1)(c), art. 8 RGPD)",
            &[],
        ),
        Category::LearningRecord => (
            "parcours de formation",
            &["dispenser la formation", "attestations d'assiduité"],
            "contrat (art. 6(1)(b))",
            &[],
        ),
        Category::OrderStatus => (
            "commandes",
            &["vente et facturation des formations", "comptabilité"],
            "contrat (art. 6(1)(b)) ; obligation légale pour les factures (art. 6(1)(c))",
            stripe,
        ),
        Category::Billing => (
            "facturation",
            &["vente et facturation des formations", "comptabilité"],
            "contrat (art. 6(1)(b)) ; obligation légale pour les factures (art. 6(1)(c))",
            stripe,
        ),
        Category::FinancialSituation => (
            "situation financière",
            &["égalité des chances : examen d'une demande de réduction"],
            "consentement du demandeur (art. 6(1)(a)), donné en déposant la demande",
            &[],
        ),
        Category::SupportingDocuments => (
            "pièces justificatives",
            &["égalité des chances : examen d'une demande de réduction"],
            "consentement du demandeur (art. 6(1)(a)), donné en déposant la demande",
            &[],
        ),
        Category::ReviewerNotes => (
            "notes d'examen",
            &["égalité des chances : notes de travail de l'examinateur sur une demande"],
            "intérêt légitime à une décision documentée (art. 6(1)(f))",
            &[],
        ),
        Category::ConsentState => (
            "consentements",
            &["enregistrer et respecter vos consentements"],
            "obligation légale (art. 7(1))",
            &[],
        ),
        Category::AccessLogAboutMe | Category::AuditLog => (
            "journal des accès",
            &["responsabilité : qui a consulté quelles données personnelles"],
            "obligation légale (art. 5(2), art. 32)",
            &[],
        ),
        Category::DataSubjectRequests => (
            "demandes d'exercice des droits",
            &["répondre à vos demandes d'exercice des droits"],
            "obligation légale (art. 12 à 22)",
            &[],
        ),
        Category::MarketingAudience => (
            "audience de la lettre d'information",
            &["campagnes de la lettre d'information aux abonnés ayant consenti à leur thème"],
            "consentement (art. 6(1)(a)), confirmé par double opt-in",
            &[],
        ),
        Category::Prospects => (
            "demandes d'information",
            &[
                "répondre à vos demandes d'information",
                "vous présenter nos autres offres si vous l'avez accepté",
            ],
            "mesures précontractuelles prises à votre demande (art. 6(1)(b)) ; consentement pour \
             nos autres offres (art. 6(1)(a))",
            &[],
        ),
    };
    CategoryText {
        name: name.to_owned(),
        purposes: owned(purposes),
        legal_basis: basis.to_owned(),
        recipients: owned(recipients),
    }
}

/// How long a table's rows are kept.
pub fn retention(lang: Lang, r: Retention) -> &'static str {
    match lang {
        Lang::En => r.describe(),
        Lang::Fr => match r {
            Retention::Account => {
                "tant que le compte existe ; 3 ans après le dernier contact en l'absence de contrat"
            }
            Retention::Prospect | Retention::EqualOpportunity => "3 ans après le dernier contact",
            Retention::Contract => "10 ans après la fin du contrat",
            Retention::Accounting => "10 ans après l'émission (obligation légale)",
            Retention::ConsentLedger => {
                "tant que le compte existe ; les consentements aux cookies expirent après 13 mois"
            }
            Retention::Recording => "7 ou 14 jours après la classe (réglage de l'organisation)",
            Retention::Expiring => "jusqu'à leur expiration",
            Retention::Logs => "2 ans après l'événement",
            Retention::Outbox => "30 jours après l'envoi",
            Retention::NewsletterAudience => "3 ans après le dernier échange",
            Retention::Tenant => "pendant la durée du contrat de l'organisation",
            Retention::Transient => "supprimé dans la transaction qui l'écrit",
        },
    }
}

/// What a table is, for a person.
pub fn about(lang: Lang, table: &Table) -> &'static str {
    if lang == Lang::En {
        return table.about;
    }
    match table.name {
        "users" => "votre compte : identité, coordonnées, date de naissance, préférences",
        "user_roles" => "vos rôles dans l'organisation",
        "guardian_links" => "les liens entre responsables légaux et mineurs",
        "auth_sessions" => "vos connexions",
        "audit_log" => "qui a consulté ou modifié vos données sensibles, et vos propres actions",
        "consent_records" => "l'historique de vos consentements",
        "policy_acceptances" => {
            "les versions de la politique de confidentialité que vous avez acceptées, et quand"
        }
        "enrollments" => "vos inscriptions aux sessions",
        "lesson_completions" => "les leçons terminées (progression)",
        "live_class_attendance" => "votre présence aux classes virtuelles",
        "orders" => "vos commandes, leur nom et adresse de facturation",
        "order_lines" => "les lignes de vos commandes",
        "refunds" => "les remboursements de vos commandes",
        "invoices" => "vos factures et avoirs",
        "outbox" => "les courriels qui vous sont adressés",
        "eo_applications" => "vos demandes égalité des chances et leur décision",
        "eo_documents" => "vos pièces justificatives (le contenu est dans documents/)",
        "data_subject_requests" => "vos demandes d'exercice des droits",
        "data_subject_request_steps" => "les étapes du traitement de vos demandes",
        "post_mortem_directives" => "vos directives post mortem",
        "data_exports" => "vos exports précédents",
        "newsletter_subscriptions" => {
            "vos inscriptions à la lettre d'information : adresse, thèmes, état, preuve du \
             consentement"
        }
        "contact_requests" => {
            "vos demandes d'information : nom, adresse, téléphone, message, vos choix d'être \
             recontacté(e)"
        }
        "death_records" => {
            "le décès enregistré par le délégué à la protection des données, pour exécuter vos directives"
        }
        _ => table.about,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::registry::TABLES;

    #[test]
    fn every_exported_table_has_its_french_description() {
        for t in TABLES.iter().filter(|t| t.export) {
            assert_ne!(about(Lang::Fr, t), t.about, "{} needs a French description", t.name);
        }
    }

    #[test]
    fn locales_choose_french_or_english() {
        assert_eq!(Lang::of_locale(Some("fr-FR")), Lang::Fr);
        assert_eq!(Lang::of_locale(Some("en")), Lang::En);
        assert_eq!(Lang::of_locale(None), Lang::En);
        assert_eq!(category(Lang::En, "billing").recipients.len(), 1);
        assert!(category(Lang::Fr, "billing").recipients[0].contains("Stripe"));
    }
}

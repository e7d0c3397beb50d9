//! The French text of every message a GraphQL error can carry, keyed by its English text.
//! `{}` stands for a value (a number, a name, a status) and is carried over in the same order;
//! `{t}` in the French text marks a value that is itself a message (translated too).
//! `tests/messages.rs` finds every message literal in `src/` and fails when one is missing.

pub const MESSAGES: &[(&str, &str)] = &[
    // AppError
    ("authentication required", "authentification requise"),
    ("invalid e-mail or password", "adresse e-mail ou mot de passe incorrect"),
    ("not allowed", "action non autorisée"),
    (
        "the password is not correct: your identity could not be confirmed and nothing was recorded",
        "le mot de passe n’est pas le bon : votre identité n’a pas pu être confirmée et rien n’a été enregistré",
    ),
    ("not found", "introuvable"),
    ("too many attempts, retry in {} s", "trop de tentatives, réessayez dans {} s"),
    ("the payment provider is unavailable: {}", "le prestataire de paiement ne répond pas : {t}"),
    ("internal error while {}", "erreur interne ({})"),
    ("internal error", "erreur interne"),
    ("malformed or unverifiable token: {}", "jeton mal formé ou invérifiable : {}"),
    ("not an access token", "ce n’est pas un jeton d’accès"),
    ("line {}: {}", "ligne {} : {t}"),
    (
        "this installation serves several tenants: name one with the X-Pupitre-Tenant header",
        "cette installation sert plusieurs organisations : nommez-en une avec l’en-tête X-Pupitre-Tenant",
    ),
    // What became of an operation when the payment provider failed.
    ("nothing was kept, retry later", "rien n’a été conservé, réessayez plus tard"),
    ("the order is kept, retry later", "la commande est conservée, réessayez plus tard"),
    (
        "the refund is pending and will be retried automatically",
        "le remboursement est en attente et sera retenté automatiquement",
    ),
    (
        "the event will be processed when Stripe sends it again",
        "l’événement sera traité quand Stripe l’enverra de nouveau",
    ),
    (
        "nothing was kept: this organisation has not set up its payments yet",
        "rien n’a été conservé : cette organisation n’a pas encore configuré ses paiements",
    ),
    // Validation of values
    ("is required", "est obligatoire"),
    ("must be a valid e-mail address", "doit être une adresse e-mail valide"),
    (
        "must be an international number in E.164 format, e.g. +33612345678",
        "doit être un numéro international au format E.164, par exemple +33612345678",
    ),
    (
        "may contain letters, spaces, hyphens, apostrophes and dots only",
        "ne peut contenir que des lettres, espaces, traits d’union, apostrophes et points",
    ),
    (
        "may contain letters, digits, spaces and hyphens only",
        "ne peut contenir que des lettres, chiffres, espaces et traits d’union",
    ),
    (
        "must be an ISO 3166-1 alpha-2 code, e.g. FR",
        "doit être un code ISO 3166-1 alpha-2, par exemple FR",
    ),
    ("must be a past date after 1900-01-01", "doit être une date passée, après le 1900-01-01"),
    ("must be between 12 and 128 characters", "doit compter entre 12 et 128 caractères"),
    (
        "must be a language tag such as fr or fr-FR",
        "doit être une étiquette de langue comme fr ou fr-FR",
    ),
    (
        "must be 1 to 64 lower-case letters, digits or hyphens",
        "doit compter 1 à 64 lettres minuscules, chiffres ou traits d’union",
    ),
    (
        "must be 1 to 32 lower-case letters, digits or hyphens",
        "doit compter 1 à 32 lettres minuscules, chiffres ou traits d’union",
    ),
    (
        "must be an ISO 4217 currency code such as EUR",
        "doit être un code de devise ISO 4217 comme EUR",
    ),
    (
        "must be an ISO 639-1 language code such as fr",
        "doit être un code de langue ISO 639-1 comme fr",
    ),
    (
        "must be an origin such as https://shop.example.org (scheme, host and port, no path)",
        "doit être une origine comme https://shop.example.org (schéma, hôte et port, sans chemin)",
    ),
    ("must be between {} and {} characters", "doit compter entre {} et {} caractères"),
    ("must be between 1 and {} characters", "doit compter entre 1 et {} caractères"),
    ("must be between 1 and 100 characters", "doit compter entre 1 et 100 caractères"),
    ("must be 1 to 64 characters", "doit compter 1 à 64 caractères"),
    ("must be 1 to {} characters of text", "doit compter 1 à {} caractères de texte"),
    ("must be 1 to {} characters on one line", "doit compter 1 à {} caractères sur une ligne"),
    ("must not contain control characters", "ne doit pas contenir de caractères de contrôle"),
    ("must be between {} and {}", "doit être compris entre {} et {}"),
    ("must be between 1 and {}", "doit être compris entre 1 et {}"),
    ("must be between 1 and 100", "doit être compris entre 1 et 100"),
    ("must be between 1 and 1440", "doit être compris entre 1 et 1440"),
    ("must be between 1 and 10000", "doit être compris entre 1 et 10000"),
    (
        "must be between 1 and {} (the installation's limit)",
        "doit être compris entre 1 et {} (la limite de l’installation)",
    ),
    (
        "must be between 1024 and {} (the installation's limit)",
        "doit être compris entre 1024 et {} (la limite de l’installation)",
    ),
    (
        "must be between 1 and {} (what is left to refund)",
        "doit être compris entre 1 et {} (ce qui reste à rembourser)",
    ),
    (
        "must be between 0 and 10000 basis points",
        "doit être compris entre 0 et 10000 points de base",
    ),
    (
        "must be between 0 and 100000000 (minor units)",
        "doit être compris entre 0 et 100000000 (en centimes)",
    ),
    ("must be one of mr, ms, mx", "doit être mr, ms ou mx"),
    ("must be `fr` or `en`", "doit être `fr` ou `en`"),
    ("must be an https:// URL", "doit être une URL https://"),
    ("must be an https:// URL with a host", "doit être une URL https:// avec un hôte"),
    (
        "must be an https:// URL of at most {} characters",
        "doit être une URL https:// d’au plus {} caractères",
    ),
    (
        "must be an https:// URL without spaces, control characters or backslashes",
        "doit être une URL https:// sans espaces, caractères de contrôle ni barres obliques inverses",
    ),
    (
        "must not contain a user name or password",
        "ne doit contenir ni nom d’utilisateur ni mot de passe",
    ),
    (
        "must be a host name such as formation.example.org",
        "doit être un nom d’hôte comme formation.example.org",
    ),
    (
        "must be 16 to 64 URL-safe characters",
        "doit compter 16 à 64 caractères utilisables dans une URL",
    ),
    (
        "must be 8 to 100 characters among letters, digits, `_`, `.`, `:` and `-`",
        "doit compter 8 à 100 caractères parmi les lettres, chiffres, `_`, `.`, `:` et `-`",
    ),
    ("must be a Stripe key starting with {}", "doit être une clé Stripe commençant par {}"),
    (
        "may hold letters, digits, '.', '_' and '-' only (for example 2027-01 or v3)",
        "ne peut contenir que des lettres, chiffres, « . », « _ » et « - » (par exemple 2027-01 ou v3)",
    ),
    (
        "each topic is 1 to 32 lower-case letters, digits, '-' or '_'",
        "chaque sujet compte 1 à 32 lettres minuscules, chiffres, « - » ou « _ »",
    ),
    ("must be in the future", "doit être dans le futur"),
    ("cannot be in the past", "ne peut pas être dans le passé"),
    ("is in the future", "est dans le futur"),
    ("must be after startsAt", "doit être après startsAt"),
    ("must not be before joinedAt", "ne doit pas être avant joinedAt"),
    ("must not be below minPriceCents", "ne doit pas être inférieur à minPriceCents"),
    ("must differ from guardianId", "doit être différent de guardianId"),
    ("must hold 1 to {} sessions", "doit contenir 1 à {} sessions"),
    (
        "must be the current privacy-policy version ({})",
        "doit être la version en vigueur de la politique de confidentialité ({})",
    ),
    ("is out of range", "est hors limites"),
    ("is not a valid cursor", "n’est pas un curseur valide"),
    ("is a cursor of another order", "est un curseur d’un autre tri"),
    ("is not a valid id", "n’est pas un identifiant valide"),
    ("is before the person's birth date", "est antérieur à la date de naissance de la personne"),
    ("is more than {} days ago", "remonte à plus de {} jours"),
    ("is below the number of seats already taken", "est inférieur au nombre de places déjà prises"),
    (
        "is not a minor (birth date missing or 18 or over)",
        "n’est pas mineur (date de naissance absente ou 18 ans ou plus)",
    ),
    ("is not a lesson of this course", "n’est pas une leçon de cette formation"),
    ("is not an instructor of this organisation", "n’est pas formateur de cette organisation"),
    ("is not enrolled in this session", "n’est pas inscrit à cette session"),
    ("is not the current password", "n’est pas le mot de passe actuel"),
    (
        "is required for a virtual-class course",
        "est obligatoire pour une formation en classe virtuelle",
    ),
    ("is required for an in-person course", "est obligatoire pour une formation en présentiel"),
    ("is given for a post-mortem directive only", "n’est donné que pour une directive post-mortem"),
    (
        "is invalid, used or expired: ask for a new link",
        "est invalide, déjà utilisé ou expiré : demandez un nouveau lien",
    ),
    ("counts must not be negative", "les nombres ne doivent pas être négatifs"),
    ("names no field to change", "ne nomme aucun champ à modifier"),
    ("unknown", "inconnu"),
    ("unknown role", "rôle inconnu"),
    ("unknown kind", "type inconnu"),
    ("unknown level", "niveau inconnu"),
    ("unknown format", "format inconnu"),
    ("unknown category `{}`", "catégorie inconnue `{}`"),
    ("unknown column `{}`", "colonne inconnue `{}`"),
    ("at most 10 tags", "10 étiquettes au plus"),
    ("at most 200 cells", "200 cellules au plus"),
    ("at most 1000 participants per report", "1000 participants au plus par relevé"),
    ("at most {} origins", "{} origines au plus"),
    ("give at least one setting to change", "indiquez au moins un réglage à modifier"),
    ("give either token or subscriptionId", "indiquez token ou subscriptionId"),
    ("give either userId or visitorId, not both", "indiquez userId ou visitorId, pas les deux"),
    ("give 1 to 20 topics", "indiquez 1 à 20 sujets"),
    (
        "give a phone number to agree to be called",
        "indiquez un numéro de téléphone pour accepter d’être appelé",
    ),
    ("give the trusted person's {} too", "indiquez aussi le champ {} de la personne de confiance"),
    (
        "a body is 1 to {} characters of text",
        "un corps de message compte 1 à {} caractères de texte",
    ),
    (
        "a subject is 1 to {} characters on one line",
        "un objet compte 1 à {} caractères sur une ligne",
    ),
    (
        "say in 1 to {} characters which evidence was seen",
        "indiquez en 1 à {} caractères quelle pièce a été vue",
    ),
    (
        "currency mismatch: {} is priced in {}, not {}",
        "devise différente : {} est vendu en {}, pas en {}",
    ),
    (
        "self, guardian and privacy_officer cannot be narrowed",
        "self, guardian et privacy_officer ne peuvent pas être restreints",
    ),
    // Accounts, tenants, policy
    (
        "an account with this e-mail address already exists",
        "un compte existe déjà avec cette adresse e-mail",
    ),
    ("another account uses this e-mail address", "un autre compte utilise cette adresse e-mail"),
    (
        "no account with this e-mail address in this tenant",
        "aucun compte avec cette adresse e-mail dans cette organisation",
    ),
    ("this account is erased", "ce compte est effacé"),
    ("this account is not restricted", "ce compte n’est pas limité"),
    (
        "this account was changed at the same time; try again",
        "ce compte a été modifié au même moment ; réessayez",
    ),
    (
        "this role was changed at the same time; try again",
        "ce rôle a été modifié au même moment ; réessayez",
    ),
    (
        "this guardianship was linked at the same time",
        "ce lien de tutelle a été créé au même moment",
    ),
    ("this person's death is recorded", "le décès de cette personne est enregistré"),
    ("no such person", "personne introuvable"),
    ("no such learner", "apprenant introuvable"),
    ("no such tenant", "organisation introuvable"),
    (
        "a tenant with this slug or host already exists",
        "une organisation existe déjà avec cet identifiant ou cet hôte",
    ),
    (
        "this host is already used by another tenant",
        "cet hôte est déjà utilisé par une autre organisation",
    ),
    (
        "this host is used by another organisation",
        "cet hôte est utilisé par une autre organisation",
    ),
    (
        "host `{}` is already used by tenant `{}`",
        "l’hôte `{}` est déjà utilisé par l’organisation `{}`",
    ),
    (
        "tenant `{}` exists with other values: change them with `pupitre tenant update`",
        "l’organisation `{}` existe avec d’autres valeurs : modifiez-les avec `pupitre tenant update`",
    ),
    (
        "must repeat the tenant's slug (`--confirm {}`)",
        "doit répéter l’identifiant de l’organisation (`--confirm {}`)",
    ),
    (
        "this organisation has not published a privacy policy yet",
        "cette organisation n’a pas encore publié de politique de confidentialité",
    ),
    ("this version is already published", "cette version est déjà publiée"),
    (
        "version {} is already published: choose another label",
        "la version {} est déjà publiée : choisissez un autre libellé",
    ),
    (
        "this confirmation link is invalid or has expired",
        "ce lien de confirmation est invalide ou a expiré",
    ),
    ("this unsubscribe link is invalid", "ce lien de désinscription est invalide"),
    // Catalogue and learning
    ("no such course", "formation introuvable"),
    ("no such session", "session introuvable"),
    ("no such session of this course", "cette formation n’a pas cette session"),
    ("only a draft can be changed", "seul un brouillon peut être modifié"),
    (
        "some sessions lack the location or virtual room this format needs",
        "des sessions n’ont pas le lieu ou la salle virtuelle que ce format demande",
    ),
    ("this course is not on sale", "cette formation n’est pas en vente"),
    (
        "this course is not free: order it through the shop",
        "cette formation n’est pas gratuite : commandez-la dans la boutique",
    ),
    ("this session is not on sale", "cette session n’est pas en vente"),
    ("this session is cancelled", "cette session est annulée"),
    ("this session has already started", "cette session a déjà commencé"),
    (
        "this session is free: enroll instead of ordering",
        "cette session est gratuite : inscrivez-vous au lieu de commander",
    ),
    ("this enrollment is not active", "cette inscription n’est pas active"),
    (
        "a completed enrollment cannot be cancelled",
        "une inscription terminée ne peut pas être annulée",
    ),
    ("this live class is not recorded", "cette classe n’est pas enregistrée"),
    // Shop and payments
    ("this session is already in the order", "cette session est déjà dans la commande"),
    (
        "this idempotency key was already used for a different order",
        "cette clé d’idempotence a déjà servi pour une autre commande",
    ),
    (
        "the order total is outside what the payment provider accepts",
        "le total de la commande sort de ce que le prestataire de paiement accepte",
    ),
    (
        "an unpaid order could not be ended (the payment provider did not answer)",
        "une commande impayée n’a pas pu être clôturée (le prestataire de paiement n’a pas répondu)",
    ),
    ("only a paid order can be refunded", "seule une commande payée peut être remboursée"),
    ("this order has no payment", "cette commande n’a pas de paiement"),
    (
        "the rest of this order is being refunded",
        "le reste de cette commande est en cours de remboursement",
    ),
    ("this refund was already completed", "ce remboursement est déjà effectué"),
    (
        "the payment provider refused the refund ({})",
        "le prestataire de paiement a refusé le remboursement ({})",
    ),
    (
        "no Stripe account answers on this endpoint",
        "aucun compte Stripe ne répond sur ce point d’accès",
    ),
    // Equal-opportunity applications and documents
    (
        "an open application for this course already exists",
        "une demande est déjà ouverte pour cette formation",
    ),
    (
        "an application that is {} cannot become {}",
        "une demande à l’état {} ne peut pas passer à {}",
    ),
    (
        "the application is {}: it can no longer change",
        "la demande est à l’état {} : elle ne peut plus changer",
    ),
    (
        "withdraw the application before deleting it: it is under review",
        "retirez la demande avant de la supprimer : elle est en cours d’examen",
    ),
    (
        "documents can be added until the review starts",
        "des justificatifs peuvent être ajoutés jusqu’au début de l’examen",
    ),
    ("attach at least one file", "joignez au moins un fichier"),
    (
        "attach at least one supporting document before submitting",
        "joignez au moins un justificatif avant d’envoyer",
    ),
    (
        "declare the household income bracket before submitting",
        "indiquez la tranche de revenus du foyer avant d’envoyer",
    ),
    ("an application holds at most {} files", "une demande contient au plus {} fichiers"),
    (
        "an application holds at most {} files ({} already)",
        "une demande contient au plus {} fichiers ({} déjà)",
    ),
    (
        "only PDF, JPEG and PNG files are accepted (decided from the content)",
        "seuls les fichiers PDF, JPEG et PNG sont acceptés (d’après leur contenu)",
    ),
    ("the file is empty", "le fichier est vide"),
    ("the file is larger than {} bytes", "le fichier dépasse {} octets"),
    ("the file part is missing", "la partie fichier manque"),
    ("no such stored document", "document introuvable"),
    ("no such sample document", "document d’exemple introuvable"),
    (
        "the document failed its integrity check",
        "le document n’a pas passé son contrôle d’intégrité",
    ),
    ("a stored document is missing", "un document enregistré manque"),
    ("encryption failed", "le chiffrement a échoué"),
    ("unknown key id", "identifiant de clé inconnu"),
    ("invalid master keys: {}", "clés maîtresses invalides : {}"),
    ("storage: {}", "stockage : {}"),
    // Data-subject requests, deaths
    (
        "a request made through the API is made by the person, not registered",
        "une demande faite par l’API est faite par la personne elle-même, pas enregistrée pour elle",
    ),
    (
        "a death is notified by post or e-mail, not made through the API",
        "un décès se signale par courrier ou par e-mail, pas par l’API",
    ),
    (
        "a death is already recorded for this person",
        "un décès est déjà enregistré pour cette personne",
    ),
    (
        "a post-mortem directive needs its outcome",
        "une directive post-mortem doit indiquer ce qu’il advient des données",
    ),
    (
        "name the trusted person the data is handed to",
        "nommez la personne de confiance à qui les données sont remises",
    ),
    (
        "name the purposes whose consent is withdrawn",
        "nommez les finalités dont le consentement est retiré",
    ),
    (
        "purposes are given for a consent withdrawal only",
        "les finalités ne sont données que pour un retrait de consentement",
    ),
    (
        "an open request of this kind already exists for this person: it is being answered",
        "une demande de ce type est déjà ouverte pour cette personne : elle est en cours de traitement",
    ),
    (
        "an open request of this kind exists for this person: answer it first",
        "une demande de ce type est ouverte pour cette personne : traitez-la d’abord",
    ),
    (
        "a request that is {} cannot be started",
        "une demande à l’état {} ne peut pas être commencée",
    ),
    ("the request is already {}", "la demande est déjà à l’état {}"),
    (
        "the request is being carried out: it can no longer be refused",
        "la demande est en cours d’exécution : elle ne peut plus être refusée",
    ),
    ("the request was closed meanwhile", "la demande a été close entre-temps"),
    ("start the request before completing it", "commencez la demande avant de la terminer"),
    ("a request is extended once only", "une demande ne se prolonge qu’une fois"),
    ("a closed request cannot be extended", "une demande close ne peut pas être prolongée"),
    (
        "an extension is one or two months (GDPR art. 12(3))",
        "une prolongation est d’un ou deux mois (RGPD art. 12(3))",
    ),
    (
        "the due date has passed: an extension is announced before it",
        "l’échéance est passée : une prolongation s’annonce avant elle",
    ),
    (
        "the final scan found the person's values outside the rows kept: {}",
        "la vérification finale a trouvé des valeurs de la personne hors des lignes conservées : {}",
    ),
    // Newsletter and campaigns
    ("this campaign has already been sent", "cette campagne a déjà été envoyée"),
    // Limits of a request (graphql::limits)
    ("introspection is disabled on this server", "l’introspection est désactivée sur ce serveur"),
    ("Query is too large: more than {} tokens.", "La requête est trop grande : plus de {} jetons."),
    (
        "Query is nested too deep (more than {} levels).",
        "La requête est trop imbriquée (plus de {} niveaux).",
    ),
    (
        "Query is nested too deep ({} levels, at most {}).",
        "La requête est trop imbriquée ({} niveaux, {} au plus).",
    ),
    (
        "Introspection query is nested too deep (at most {} levels and {} nested lists).",
        "La requête d’introspection est trop imbriquée ({} niveaux et {} listes imbriquées au plus).",
    ),
    (
        "Query is too large: more than {} fields once its fragments are expanded.",
        "La requête est trop grande : plus de {} champs une fois ses fragments développés.",
    ),
    (
        "`{}` {}: one request may run it once, this one asks for it {} times; send them one by one",
        "`{}` ({t}) : une requête ne peut l’exécuter qu’une fois, celle-ci le demande {} fois ; envoyez-les une par une",
    ),
    (
        "`{}` contains a control character (U+{}); only tab, line feed and carriage return are accepted",
        "`{}` contient un caractère de contrôle (U+{}) ; seuls la tabulation, le saut de ligne et le retour chariot sont acceptés",
    ),
    (
        "`{}` holds an upload placeholder that points at no file of this request",
        "`{}` contient un emplacement de fichier qui ne désigne aucun fichier de cette requête",
    ),
    ("hashes a password", "calcule l’empreinte d’un mot de passe"),
    ("verifies a password hash", "vérifie l’empreinte d’un mot de passe"),
    ("verifies and hashes a password", "vérifie et calcule l’empreinte d’un mot de passe"),
    ("calls Stripe", "appelle Stripe"),
    ("calls Stripe for unpaid orders", "appelle Stripe pour les commandes impayées"),
    ("encrypts and stores files", "chiffre et enregistre des fichiers"),
    // async-graphql's own validation (the most frequent)
    ("Unknown field \"{}\" on type \"{}\".{}", "Champ « {} » inconnu sur le type « {} ».{t}"),
    (" Did you mean {}", " Vouliez-vous dire {}"),
    (
        "Invalid value for argument \"{}\", expected type \"{}\"",
        "Valeur invalide pour l’argument « {} », type attendu « {} »",
    ),
    (
        "Unknown argument \"{}\" on field \"{}\" of type \"{}\".{}",
        "Argument « {} » inconnu sur le champ « {} » du type « {} ».{t}",
    ),
    (
        "Field \"{}\" argument \"{}\" of type \"{}\" is required but not provided",
        "Le champ « {} » attend l’argument « {} » de type « {} », qui n’est pas fourni",
    ),
];

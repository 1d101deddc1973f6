-- `make seed`: demo products for the development database, so the catalogue has something to
-- show. Run by scripts/run.sh after the migrations; never by the server, never in production.
--
-- Safe to run again: a product whose name (case-insensitively) is already live is left as it
-- is, edits and stock included, through the same unique index that keeps names apart.

with added as (
    insert into products (name, description, price_cents, stock)
    select name, description, price_cents, stock
    from (values
        ('Assam Breakfast Tea', 'Strong, malty loose-leaf tea from Assam, 250 g. Takes milk well.', 650, 42),
        ('Darjeeling First Flush', 'Light and floral spring-picked tea from the Himalayan foothills, 100 g.', 1195, 12),
        ('Earl Grey', 'Black tea with bergamot oil, 40 unbleached tea bags.', 395, 60),
        ('Sencha Green Tea', 'Steamed Japanese green tea, grassy and bright, 100 g.', 875, 18),
        ('Fresh Mint Infusion', 'Dried peppermint leaves, caffeine-free, 50 g.', 350, 0),
        ('Rooibos Vanilla', 'South African red bush with vanilla pods, caffeine-free, 100 g.', 495, 25),
        ('House Espresso Beans', 'Brazil and Colombia, roasted medium-dark for espresso, 1 kg.', 2200, 30),
        ('Ethiopian Filter Coffee', 'Washed Yirgacheffe, notes of jasmine and lemon, ground for filter, 250 g.', 950, 14),
        ('Decaf Colombian', 'Swiss-water decaffeinated, chocolatey and smooth, whole beans, 250 g.', 850, 0),
        ('Hot Chocolate Flakes', '70 % dark chocolate shavings to melt into warm milk, 300 g.', 725, 22),
        ('Sourdough Loaf', 'Baked this morning with a 48-hour ferment, 800 g.', 420, 8),
        ('Seeded Rye Bread', 'Dense Danish-style rye with sunflower and flax seeds, 750 g.', 380, 6),
        ('All-Butter Croissant', 'Laminated by hand, baked fresh every morning.', 220, 24),
        ('Cinnamon Bun', 'Cardamom dough rolled with cinnamon butter, pearl sugar on top.', 275, 0),
        ('Oat Biscuits', 'Crisp oat and golden syrup biscuits, a tin of 20.', 450, 35),
        ('Shortbread Fingers', 'Scottish all-butter shortbread, 12 fingers.', 525, 19),
        ('Wildflower Honey', 'Raw, unfiltered honey from hives in the Cotswolds, 340 g jar.', 899, 15),
        ('Seville Orange Marmalade', 'Thick-cut, made in small batches each January, 340 g.', 475, 28),
        ('Strawberry Jam', 'Kentish strawberries and cane sugar, nothing else, 340 g.', 425, 0),
        ('Salted Caramel Spread', 'Slow-cooked caramel with sea salt from Anglesey, 220 g.', 550, 11),
        ('Extra Virgin Olive Oil', 'Cold-pressed Koroneiki olives from Crete, 500 ml tin.', 1450, 20),
        ('Aged Balsamic Vinegar', 'Aceto balsamico di Modena, aged 12 years, 250 ml.', 1800, 7),
        ('Sea Salt Flakes', 'Hand-harvested pyramid flakes, 250 g tub.', 320, 50),
        ('Smoked Paprika', 'Pimentón de la Vera, sweet and smoky, 75 g tin.', 385, 16),
        ('Fusilli Pasta', 'Bronze-die durum wheat pasta, slow-dried, 500 g.', 249, 80),
        ('Arborio Rice', 'Risotto rice from the Po valley, 1 kg.', 360, 0),
        ('Mature Cheddar', 'Cave-aged 18 months in Somerset, 300 g wedge.', 595, 13),
        ('Dark Chocolate Bar', '72 % cocoa from a single estate in Ecuador, 100 g.', 350, 48),
        ('Roasted Almonds', 'Spanish Marcona almonds roasted with rosemary and salt, 150 g.', 499, 21),
        ('Sparkling Elderflower', 'Pressé made with elderflowers picked in June, 750 ml.', 299, 36),
        ('Stoneware Mug', 'Hand-thrown in Devon, speckled white glaze, holds 350 ml.', 1600, 9),
        ('Glass Teapot', 'Borosilicate teapot with a steel infuser, 1 litre.', 2450, 4),
        ('Pour-Over Coffee Dripper', 'Ceramic cone dripper for size 02 filters.', 1850, 0),
        ('Paper Coffee Filters', 'Unbleached size 02 filters, pack of 100.', 450, 64),
        ('Cast Iron Skillet', 'Pre-seasoned 26 cm pan that will outlive you.', 3999, 5),
        ('Linen Tea Towel', 'Stonewashed Lithuanian linen, 50 × 70 cm.', 1200, 27),
        ('Beeswax Food Wraps', 'Set of three reusable wraps in small, medium and large.', 1500, 0),
        ('Wooden Spoon Set', 'Three olive-wood spoons, carved and oiled by hand.', 1495, 10),
        ('Tote Bag', 'Heavy organic cotton canvas with a long strap.', 800, 40),
        ('Gift Card', 'Spend it on anything in the shop; never expires.', 2500, 1000)
    ) as seed (name, description, price_cents, stock)
    on conflict (lower(name)) where deleted_at is null do nothing
    returning 1
)
select format('[seed] %s new products', count(*)) from added;

select format('[seed] the catalogue: %s products in stock, %s out of stock',
              count(*) filter (where stock > 0), count(*) filter (where stock = 0))
from products
where deleted_at is null;
